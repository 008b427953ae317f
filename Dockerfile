# syntax=docker/dockerfile:1
# Multi-stage: build a wheel with pinned dependencies, run it as a non-root user.
# The Makefile's `image` target builds this file; `make install` mirrors the build stage.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY connector ./connector
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --upgrade pip==25.3 \
    && /opt/venv/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim
LABEL org.opencontainers.image.title="clerk-connector" \
      org.opencontainers.image.description="c1.connector.v2 gRPC connector for Clerk"
RUN groupadd --system --gid 10001 connector \
    && useradd --system --uid 10001 --gid connector --no-create-home --shell /usr/sbin/nologin connector
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
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["clerk-connector", "health"]
ENTRYPOINT ["clerk-connector"]
CMD ["serve"]
