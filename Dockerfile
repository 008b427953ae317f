# Multi-stage: build a wheel with pinned dependencies, run it as a non-root user.
# The Makefile's `image` target builds this file; `make install` mirrors the build stage.
# Both stages use the same base (the runtime venv links to its interpreter), named by Debian
# release so a rebuild does not move to another one. A mirror or a digest-pinned base:
# --build-arg PYTHON_IMAGE=... (make image IMAGE_BUILD_FLAGS="--build-arg PYTHON_IMAGE=...").
ARG PYTHON_IMAGE=python:3.11-slim-trixie

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
# This stage's own pip installs into a venv without pip: the runtime image gets no installer.
RUN python -m pip install --no-cache-dir pip==25.3
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY connector ./connector
RUN python -m venv --without-pip /opt/venv \
    && python -m pip --python /opt/venv/bin/python install --no-cache-dir -c constraints.txt .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="clerk-connector" \
      org.opencontainers.image.description="c1.connector.v2 gRPC connector for Clerk"
# Nothing installs packages at run time, so the base image's pip, setuptools and wheel go
# (scanners report them). uid 10001 is outside the system-account range, so a regular
# account (a system one with that uid makes useradd warn).
RUN python -m pip uninstall --yes --root-user-action=ignore pip setuptools wheel \
    && groupadd --gid 10001 connector \
    && useradd --no-log-init --uid 10001 --gid connector --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin connector
COPY --from=build /opt/venv /opt/venv
# Runs with a read-only root filesystem: `serve` and `health` write no files (no bytecode
# caches either). Only `sync --output`/`demo` write, into the working directory: mount a
# tmpfs at /tmp for them.
# 0.0.0.0 is reachable from outside the container, so `serve` refuses to start there without
# TLS (CONNECTOR_TLS_CERT_FILE/KEY_FILE) unless CONNECTOR_ALLOW_INSECURE=true is set on
# purpose. The image sets neither: a plaintext listener is the operator's explicit choice.
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONNECTOR_LISTEN=0.0.0.0:50051 \
    CONNECTOR_LOG_FORMAT=json
WORKDIR /tmp
USER 10001:10001
# 50051: gRPC. 9090: Prometheus metrics, served only when CONNECTOR_METRICS_LISTEN is set.
EXPOSE 50051 9090
# CLERK_SECRET_KEY (or CLERK_SECRET_KEY_FILE) comes from the environment at run time.
# With TLS, `health` dials with CONNECTOR_HEALTH_TLS_CA_FILE (and _CERT_FILE/_KEY_FILE for
# mutual TLS, _SERVER_NAME when the certificate does not name 127.0.0.1).
# Kept only in the docker image format: `make image` builds podman images with --format docker.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["clerk-connector", "health"]
# serve drains for up to 20 s on SIGTERM: run with --stop-timeout 30 (docker's default is 10).
ENTRYPOINT ["clerk-connector"]
CMD ["serve"]
