from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from connector.settings import LogFormat, SettingsError, load_settings
from tests.e2e.certs import authority

CANARY = "sk_test_CANARYsettings0000000000"
TLS_VARIABLES = [
    "CONNECTOR_TLS_CERT_FILE",
    "CONNECTOR_TLS_KEY_FILE",
    "CONNECTOR_TLS_CLIENT_CA_FILE",
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


# --- TLS for the gRPC listener -------------------------------------------------------------


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    ca = authority(tmp_path / "ca", "ca")
    server = ca.issue("server", server=True)
    other = ca.issue("other", server=True)
    return {"ca": ca.cert, "cert": server.cert, "key": server.key, "other_key": other.key}


def test_tls_is_off_and_plaintext_stays_on_loopback_by_default() -> None:
    settings = load_settings()
    assert settings.server_tls() is None
    assert settings.allow_insecure is False
    assert settings.listen.startswith("127.0.0.1:")


def test_tls_files_are_loaded(monkeypatch: pytest.MonkeyPatch, pki: dict[str, Path]) -> None:
    monkeypatch.setenv("CONNECTOR_TLS_CERT_FILE", str(pki["cert"]))
    monkeypatch.setenv("CONNECTOR_TLS_KEY_FILE", str(pki["key"]))
    plain = load_settings().server_tls()
    assert plain is not None
    assert not plain.mutual
    assert plain.cert_chain == pki["cert"].read_bytes()
    monkeypatch.setenv("CONNECTOR_TLS_CLIENT_CA_FILE", str(pki["ca"]))
    monkeypatch.setenv("CONNECTOR_ALLOW_INSECURE", "true")
    settings = load_settings()
    mutual = settings.server_tls()
    assert mutual is not None
    assert mutual.mutual
    assert mutual.client_ca == pki["ca"].read_bytes()
    assert settings.allow_insecure is True
    assert "PRIVATE KEY" not in repr(mutual)


BOTH = "CONNECTOR_TLS_CERT_FILE and CONNECTOR_TLS_KEY_FILE: set both"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            ["CONNECTOR_TLS_CERT_FILE"],
            BOTH,
        ),
        (
            ["CONNECTOR_TLS_KEY_FILE"],
            BOTH,
        ),
        (["CONNECTOR_TLS_CLIENT_CA_FILE"], "CONNECTOR_TLS_CLIENT_CA_FILE needs"),
        (
            ["CONNECTOR_TLS_CERT_FILE", "CONNECTOR_TLS_CLIENT_CA_FILE"],
            BOTH,
        ),
    ],
)
def test_incomplete_tls_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, pki: dict[str, Path], given: list[str], message: str
) -> None:
    files = dict(zip(TLS_VARIABLES, [pki["cert"], pki["key"], pki["ca"]], strict=True))
    for name in given:
        monkeypatch.setenv(name, str(files[name]))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("missing", TLS_VARIABLES)
def test_unreadable_tls_file_is_named(
    monkeypatch: pytest.MonkeyPatch, pki: dict[str, Path], tmp_path: Path, missing: str
) -> None:
    files = dict(zip(TLS_VARIABLES, [pki["cert"], pki["key"], pki["ca"]], strict=True))
    files[missing] = tmp_path / "nowhere.pem"
    for name, path in files.items():
        monkeypatch.setenv(name, str(path))
    with pytest.raises(SettingsError, match=f"^{missing}: cannot read .*nowhere.pem"):
        load_settings().server_tls()


def test_tls_key_that_is_not_pem_is_refused_without_echo(
    monkeypatch: pytest.MonkeyPatch, pki: dict[str, Path], tmp_path: Path
) -> None:
    garbage = tmp_path / "key.pem"
    garbage.write_text("not-a-key-but-a-secret-0123456789")
    monkeypatch.setenv("CONNECTOR_TLS_CERT_FILE", str(pki["cert"]))
    monkeypatch.setenv("CONNECTOR_TLS_KEY_FILE", str(garbage))
    with pytest.raises(SettingsError) as caught:
        load_settings().server_tls()
    assert str(caught.value).startswith("CONNECTOR_TLS_KEY_FILE:")
    assert "secret-0123456789" not in str(caught.value)


def test_tls_key_of_another_certificate_is_refused(
    monkeypatch: pytest.MonkeyPatch, pki: dict[str, Path]
) -> None:
    monkeypatch.setenv("CONNECTOR_TLS_CERT_FILE", str(pki["cert"]))
    monkeypatch.setenv("CONNECTOR_TLS_KEY_FILE", str(pki["other_key"]))
    with pytest.raises(SettingsError, match="not a usable certificate and key pair"):
        load_settings().server_tls()


def test_encrypted_tls_key_is_refused_without_a_prompt(
    monkeypatch: pytest.MonkeyPatch, pki: dict[str, Path], tmp_path: Path
) -> None:
    key = serialization.load_pem_private_key(pki["key"].read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    monkeypatch.setenv("CONNECTOR_TLS_CERT_FILE", str(pki["cert"]))
    monkeypatch.setenv("CONNECTOR_TLS_KEY_FILE", str(encrypted))
    with pytest.raises(SettingsError, match=r"^CONNECTOR_TLS_KEY_FILE: the key is encrypted"):
        load_settings().server_tls()
