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
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONNECTOR_LISTEN=0.0.0.0:50051 \
    CONNECTOR_LOG_FORMAT=json
USER 10001:10001
EXPOSE 50051
# CLERK_SECRET_KEY (or CLERK_SECRET_KEY_FILE) comes from the environment at run time.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["clerk-connector", "health"]
ENTRYPOINT ["clerk-connector"]
CMD ["serve"]
