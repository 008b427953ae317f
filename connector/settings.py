"""Runtime settings, read from the environment (and an optional .env file) by pydantic-settings.

Every setting has exactly one environment variable; `config/example.env` documents them all.
A bad value fails start-up with one line that names the variable and never echoes its value,
because the value might be the secret key.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_URL = "https://api.clerk.com/v1"
DEFAULT_LISTEN = "127.0.0.1:50051"


class SettingsError(Exception):
    """A setting is missing or malformed. The message names the variable, never its value."""


class LogFormat(StrEnum):
    AUTO = "auto"  # console on a terminal, JSON otherwise
    JSON = "json"
    CONSOLE = "console"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    clerk_secret_key: SecretStr | None = Field(default=None, validation_alias="CLERK_SECRET_KEY")
    clerk_secret_key_file: Path | None = Field(
        default=None, validation_alias="CLERK_SECRET_KEY_FILE"
    )
    clerk_api_url: str = Field(default=DEFAULT_API_URL, validation_alias="CLERK_API_URL")
    clerk_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        default=15.0, validation_alias="CLERK_TIMEOUT_SECONDS"
    )
    listen: str = Field(default=DEFAULT_LISTEN, validation_alias="CONNECTOR_LISTEN")
    # Prometheus /metrics on its own HOST:PORT; empty: not served.
    metrics_listen: str = Field(default="", validation_alias="CONNECTOR_METRICS_LISTEN")
    sync_users: bool = Field(default=True, validation_alias="CONNECTOR_SYNC_USERS")
    sync_organizations: bool = Field(default=True, validation_alias="CONNECTOR_SYNC_ORGANIZATIONS")
    sync_organization_roles: bool = Field(
        default=True, validation_alias="CONNECTOR_SYNC_ORGANIZATION_ROLES"
    )
    sync_organization_permissions: bool = Field(
        default=True, validation_alias="CONNECTOR_SYNC_ORGANIZATION_PERMISSIONS"
    )
    # Grant / Revoke change organization memberships in Clerk only when this is on.
    provisioning: bool = Field(default=False, validation_alias="CONNECTOR_PROVISIONING")
    # Refuse a Revoke that would leave an organization without an admin-level member.
    protect_last_admin: bool = Field(default=True, validation_alias="CONNECTOR_PROTECT_LAST_ADMIN")
    rate_limit_share: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.5, validation_alias="CONNECTOR_RATE_LIMIT_SHARE"
    )
    sync_cache_idle_seconds: Annotated[float, Field(gt=0)] = Field(
        default=900.0, validation_alias="CONNECTOR_SYNC_CACHE_IDLE_SECONDS"
    )
    log_level: LogLevel = Field(default=LogLevel.INFO, validation_alias="CONNECTOR_LOG_LEVEL")
    log_format: LogFormat = Field(default=LogFormat.AUTO, validation_alias="CONNECTOR_LOG_FORMAT")
    # TLS for the gRPC listener: paths of PEM files, read and checked by connector.server.tls.
    # A client CA turns on mutual TLS (certs required).
    tls_cert_file: Path | None = Field(default=None, validation_alias="CONNECTOR_TLS_CERT_FILE")
    tls_key_file: Path | None = Field(default=None, validation_alias="CONNECTOR_TLS_KEY_FILE")
    tls_client_ca_file: Path | None = Field(
        default=None, validation_alias="CONNECTOR_TLS_CLIENT_CA_FILE"
    )
    # Plaintext on a non-loopback address is refused unless this says it is on purpose.
    allow_insecure: bool = Field(default=False, validation_alias="CONNECTOR_ALLOW_INSECURE")
    # How `health` dials a TLS listener when its --tls-* flags are absent (the container's probe
    # has no flags). Empty means unset.
    health_tls_ca_file: Path | None = Field(
        default=None, validation_alias="CONNECTOR_HEALTH_TLS_CA_FILE"
    )
    health_tls_cert_file: Path | None = Field(
        default=None, validation_alias="CONNECTOR_HEALTH_TLS_CERT_FILE"
    )
    health_tls_key_file: Path | None = Field(
        default=None, validation_alias="CONNECTOR_HEALTH_TLS_KEY_FILE"
    )
    health_tls_server_name: str | None = Field(
        default=None, validation_alias="CONNECTOR_HEALTH_TLS_SERVER_NAME"
    )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator(
        "health_tls_ca_file",
        "health_tls_cert_file",
        "health_tls_key_file",
        "health_tls_server_name",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("clerk_api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or value.endswith("://"):
            raise ValueError("must be an http(s) URL such as https://api.clerk.com/v1")
        return value.rstrip("/")

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        return _host_port(value, "must be HOST:PORT, for example 127.0.0.1:50051")

    @field_validator("metrics_listen")
    @classmethod
    def _check_metrics_listen(cls, value: str) -> str:
        value = value.strip()
        example = "must be HOST:PORT, for example 0.0.0.0:9090 (or empty: off)"
        return _host_port(value, example) if value else value

    @model_validator(mode="after")
    def _check_types(self) -> Settings:
        if not any(
            (
                self.sync_users,
                self.sync_organizations,
                self.sync_organization_roles,
                self.sync_organization_permissions,
            )
        ):
            raise ValueError("CONNECTOR_SYNC_*: at least one resource type must be switched on")
        return self

    @model_validator(mode="after")
    def _check_tls_files(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError(
                "CONNECTOR_TLS_CERT_FILE and CONNECTOR_TLS_KEY_FILE: set both or neither"
            )
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError(
                "CONNECTOR_TLS_CLIENT_CA_FILE needs CONNECTOR_TLS_CERT_FILE and "
                "CONNECTOR_TLS_KEY_FILE: mutual TLS is TLS with client certificates"
            )
        return self

    def secret_key(self) -> SecretStr:
        """The Clerk key from CLERK_SECRET_KEY or CLERK_SECRET_KEY_FILE; raises SettingsError."""
        if self.clerk_secret_key is not None and self.clerk_secret_key_file is not None:
            raise SettingsError("set only one of CLERK_SECRET_KEY and CLERK_SECRET_KEY_FILE")
        if self.clerk_secret_key_file is not None:
            try:
                raw = self.clerk_secret_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(
                    f"CLERK_SECRET_KEY_FILE: cannot read {self.clerk_secret_key_file} "
                    f"({exc.strerror or type(exc).__name__})"
                ) from None
            return _checked_key(SecretStr(raw), "CLERK_SECRET_KEY_FILE")
        if self.clerk_secret_key is None:
            raise SettingsError(
                "CLERK_SECRET_KEY is not set (or point CLERK_SECRET_KEY_FILE at a file holding it)"
            )
        return _checked_key(self.clerk_secret_key, "CLERK_SECRET_KEY")


def _checked_key(key: SecretStr, variable: str) -> SecretStr:
    value = key.get_secret_value()
    if not value:
        raise SettingsError(f"{variable} is empty")
    if not value.startswith("sk_") or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise SettingsError(
            f"{variable} is malformed: a Clerk secret key starts with sk_live_ or sk_test_"
        )
    return key


def _host_port(value: str, message: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(message)
    return value


def variable(field: str) -> str:
    """The environment variable of a `Settings` field, for messages and help texts."""
    return str(Settings.model_fields[field].validation_alias)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise SettingsError naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    # With a validation_alias per field, pydantic reports the environment variable's name.
    for error in exc.errors(include_input=False, include_url=False):
        loc = error.get("loc", ())
        name = str(loc[0]).upper() if loc else ""
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        return f"{name}: {message}" if name else message
    return "invalid settings"
