# Every target installs what it needs: a fresh machine needs only python3 (3.11+) and npm.
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
TOOLS   := .tools
BUF     := $(TOOLS)/node_modules/.bin/buf
BUF_VERSION := 1.75.0
IMAGE   ?= clerk-connector:dev
# make image: podman when it is installed, else docker; chosen once, so a failure shows the
# real error. IMAGE_BUILD_FLAGS passes extra flags, e.g. "--isolation chroot" (podman in a
# container), "--pull=never" or a "--build-arg PYTHON_IMAGE=..." for a mirrored base image.
CONTAINER_TOOL ?= $(firstword $(foreach tool,podman docker,$(if $(shell command -v $(tool)),$(tool))))
IMAGE_BUILD_FLAGS ?=
# podman defaults to the OCI format, which drops HEALTHCHECK; docker always keeps it.
IMAGE_FORMAT_FLAGS = $(if $(filter podman,$(CONTAINER_TOOL)),--format docker)

.PHONY: help install demo test check lint typecheck proto proto-check fmt pytest docker-lint image bench browser screenshot clean

help:
	@echo "make demo    - run the demo: fake Clerk + connector + a platform-style sync"
	@echo "make test    - lint, type-check, proto checks and the full test suite"
	@echo "make bench   - sync S/M/L instances against the rate-limited fake Clerk; writes docs/benchmarks.md"
	@echo "make proto   - regenerate connector/pb from proto/"
	@echo "make image   - build the container image (needs podman or docker)"
	@echo "make browser - install Debian's chromium for the report's browser tests (root, apt)"

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

$(BUF):
	npm install --prefix $(TOOLS) --no-save --no-package-lock --no-audit --no-fund --loglevel=error @bufbuild/buf@$(BUF_VERSION)

demo: install
	$(BIN)/clerk-connector demo

test: check pytest

pytest: install
	$(BIN)/pytest

check: lint typecheck proto-check docker-lint

lint: install $(BUF)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BUF) lint
	$(BUF) format --diff --exit-code

typecheck: install
	$(BIN)/mypy

proto: install
	$(PY) proto/generate.py

# The test suite also fails on stale generated code (tests/test_generated_code.py).
proto-check: install
	$(PY) proto/generate.py $(TOOLS)/pb-check
	diff -r --exclude=__pycache__ connector/pb $(TOOLS)/pb-check

fmt: install $(BUF)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BUF) format -w

docker-lint: install
	$(BIN)/hadolint Dockerfile

# Minutes, not seconds: L at the development rate is bound by Clerk's 100 requests / 10 s.
# BENCH_ARGS narrows it, e.g. make bench BENCH_ARGS="--sizes S,M --rates production --no-write".
bench: install
	$(PY) -m tests.bench $(BENCH_ARGS)

# The report's browser tests use Debian's chromium; without it they are skipped (CI installs it
# first and requires it). Quick when it is already there.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@chromium --version 2>/dev/null

# The README's screenshot of the demo instance's access report.
screenshot: install
	$(PY) -m tests.e2e.browser docs/access-report.png

image:
	$(if $(CONTAINER_TOOL),,$(error make image needs podman or docker (or CONTAINER_TOOL=...)))
	$(CONTAINER_TOOL) build $(IMAGE_FORMAT_FLAGS) $(IMAGE_BUILD_FLAGS) -t $(IMAGE) .

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
