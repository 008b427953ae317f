from __future__ import annotations

from pathlib import Path

import pytest

from connector.settings import LogFormat, SettingsError, load_settings, variable

CANARY = "sk_test_CANARYsettings0000000000"
TLS_VARIABLES = [
    "CONNECTOR_TLS_CERT_FILE",
    "CONNECTOR_TLS_KEY_FILE",
    "CONNECTOR_TLS_CLIENT_CA_FILE",
]
HEALTH_TLS_VARIABLES = [
    "CONNECTOR_HEALTH_TLS_CA_FILE",
    "CONNECTOR_HEALTH_TLS_CERT_FILE",
    "CONNECTOR_HEALTH_TLS_KEY_FILE",
    "CONNECTOR_HEALTH_TLS_SERVER_NAME",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [
        "CLERK_SECRET_KEY",
        "CLERK_SECRET_KEY_FILE",
        "CLERK_API_URL",
        "CONNECTOR_LISTEN",
        "CONNECTOR_RATE_LIMIT_SHARE",
        "CONNECTOR_LOG_FORMAT",
        *TLS_VARIABLES,
        *HEALTH_TLS_VARIABLES,
        "CONNECTOR_ALLOW_INSECURE",
    ]:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.clerk_api_url == "https://api.clerk.com/v1"
    assert settings.listen == "127.0.0.1:50051"
    assert settings.rate_limit_share == 0.5
    assert settings.log_format is LogFormat.AUTO
    assert all(
        (
            settings.sync_users,
            settings.sync_organizations,
            settings.sync_organization_roles,
            settings.sync_organization_permissions,
        )
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CONNECTOR_RATE_LIMIT_SHARE", "1.5"),
        ("CONNECTOR_RATE_LIMIT_SHARE", "zero"),
        ("CONNECTOR_SYNC_USERS", "perhaps"),
        ("CONNECTOR_LISTEN", "no-port"),
        ("CLERK_API_URL", "api.clerk.com"),
        ("CONNECTOR_LOG_FORMAT", "xml"),
        ("CLERK_TIMEOUT_SECONDS", "-1"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}:")
    assert "\n" not in message


def test_all_types_off_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ["USERS", "ORGANIZATIONS", "ORGANIZATION_ROLES", "ORGANIZATION_PERMISSIONS"]:
        monkeypatch.setenv(f"CONNECTOR_SYNC_{name}", "false")
    with pytest.raises(SettingsError, match="CONNECTOR_SYNC_"):
        load_settings()


def test_missing_key_is_named() -> None:
    with pytest.raises(SettingsError, match="CLERK_SECRET_KEY is not set"):
        load_settings().secret_key()


def test_key_from_env_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", CANARY)
    assert load_settings().secret_key().get_secret_value() == CANARY
    monkeypatch.delenv("CLERK_SECRET_KEY")
    key_file = tmp_path / "key"
    key_file.write_text(CANARY + "\n")
    monkeypatch.setenv("CLERK_SECRET_KEY_FILE", str(key_file))
    assert load_settings().secret_key().get_secret_value() == CANARY


def test_both_key_sources_is_ambiguous(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", CANARY)
    monkeypatch.setenv("CLERK_SECRET_KEY_FILE", str(tmp_path / "key"))
    with pytest.raises(SettingsError, match="only one"):
        load_settings().secret_key()


def test_unreadable_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="CLERK_SECRET_KEY_FILE: cannot read"):
        load_settings().secret_key()


@pytest.mark.parametrize("bad", ["pk_test_publishable", "sk_test_has space", ""])
def test_malformed_key_is_refused_without_echo(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", bad)
    with pytest.raises(SettingsError) as caught:
        load_settings().secret_key()
    assert "CLERK_SECRET_KEY" in str(caught.value)
    if bad:
        assert bad not in str(caught.value)


def test_settings_repr_hides_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", CANARY)
    settings = load_settings()
    assert CANARY not in repr(settings)
    assert CANARY not in str(settings.model_dump())


# --- TLS settings: paths only (connector.server.tls reads them; tests/server/test_server_tls.py)


def test_tls_is_off_and_plaintext_stays_on_loopback_by_default() -> None:
    settings = load_settings()
    assert (settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file) == (
        None,
        None,
        None,
    )
    assert settings.allow_insecure is False
    assert settings.listen.startswith("127.0.0.1:")


def test_tls_paths_are_settings_and_the_files_are_not_read_here(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in TLS_VARIABLES:
        monkeypatch.setenv(name, str(tmp_path / "absent" / name.lower()))
    settings = load_settings()
    assert settings.tls_cert_file == tmp_path / "absent" / "connector_tls_cert_file"
    assert settings.tls_client_ca_file == tmp_path / "absent" / "connector_tls_client_ca_file"


BOTH = "CONNECTOR_TLS_CERT_FILE and CONNECTOR_TLS_KEY_FILE: set both"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["CONNECTOR_TLS_CERT_FILE"], BOTH),
        (["CONNECTOR_TLS_KEY_FILE"], BOTH),
        (["CONNECTOR_TLS_CLIENT_CA_FILE"], "CONNECTOR_TLS_CLIENT_CA_FILE needs"),
        (["CONNECTOR_TLS_CERT_FILE", "CONNECTOR_TLS_CLIENT_CA_FILE"], BOTH),
    ],
)
def test_incomplete_tls_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, given: list[str], message: str
) -> None:
    for name in given:
        monkeypatch.setenv(name, str(tmp_path / f"{name.lower()}.pem"))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(message)


def test_health_tls_settings_are_read_and_empty_means_unset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert load_settings().health_tls_ca_file is None
    monkeypatch.setenv("CONNECTOR_HEALTH_TLS_CA_FILE", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("CONNECTOR_HEALTH_TLS_SERVER_NAME", "connector.example")
    monkeypatch.setenv("CONNECTOR_HEALTH_TLS_CERT_FILE", "")
    monkeypatch.setenv("CONNECTOR_HEALTH_TLS_KEY_FILE", "  ")
    settings = load_settings()
    assert settings.health_tls_ca_file == tmp_path / "ca.pem"
    assert settings.health_tls_server_name == "connector.example"
    assert (settings.health_tls_cert_file, settings.health_tls_key_file) == (None, None)


def test_variable_names_the_environment_variable_of_a_field() -> None:
    assert variable("health_tls_ca_file") == "CONNECTOR_HEALTH_TLS_CA_FILE"
    assert variable("listen") == "CONNECTOR_LISTEN"
    with pytest.raises(KeyError):
        variable("no_such_setting")
