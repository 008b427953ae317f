"""The listener's TLS material: connector.server.tls reads and checks the PEM files the settings
name, and a file that cannot be used fails start-up with one line naming its variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from connector.server.tls import server_tls
from connector.settings import SettingsError, load_settings
from tests.e2e.certs import authority

TLS_VARIABLES = [
    "CONNECTOR_TLS_CERT_FILE",
    "CONNECTOR_TLS_KEY_FILE",
    "CONNECTOR_TLS_CLIENT_CA_FILE",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*TLS_VARIABLES, "CONNECTOR_ALLOW_INSECURE"]:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    ca = authority(tmp_path / "ca", "ca")
    server = ca.issue("server", server=True)
    other = ca.issue("other", server=True)
    return {"ca": ca.cert, "cert": server.cert, "key": server.key, "other_key": other.key}


def test_no_tls_files_means_plaintext() -> None:
    assert server_tls(load_settings()) is None


def test_tls_files_are_loaded(monkeypatch: pytest.MonkeyPatch, pki: dict[str, Path]) -> None:
    monkeypatch.setenv("CONNECTOR_TLS_CERT_FILE", str(pki["cert"]))
    monkeypatch.setenv("CONNECTOR_TLS_KEY_FILE", str(pki["key"]))
    plain = server_tls(load_settings())
    assert plain is not None
    assert not plain.mutual
    assert plain.cert_chain == pki["cert"].read_bytes()
    monkeypatch.setenv("CONNECTOR_TLS_CLIENT_CA_FILE", str(pki["ca"]))
    monkeypatch.setenv("CONNECTOR_ALLOW_INSECURE", "true")
    settings = load_settings()
    mutual = server_tls(settings)
    assert mutual is not None
    assert mutual.mutual
    assert mutual.client_ca == pki["ca"].read_bytes()
    assert settings.allow_insecure is True
    assert "PRIVATE KEY" not in repr(mutual)


@pytest.mark.parametrize("missing", TLS_VARIABLES)
def test_unreadable_tls_file_is_named(
    monkeypatch: pytest.MonkeyPatch, pki: dict[str, Path], tmp_path: Path, missing: str
) -> None:
    files = dict(zip(TLS_VARIABLES, [pki["cert"], pki["key"], pki["ca"]], strict=True))
    files[missing] = tmp_path / "nowhere.pem"
    for name, path in files.items():
        monkeypatch.setenv(name, str(path))
    with pytest.raises(SettingsError, match=f"^{missing}: cannot read .*nowhere.pem"):
        server_tls(load_settings())


def test_tls_key_that_is_not_pem_is_refused_without_echo(
    monkeypatch: pytest.MonkeyPatch, pki: dict[str, Path], tmp_path: Path
) -> None:
    garbage = tmp_path / "key.pem"
    garbage.write_text("not-a-key-but-a-secret-0123456789")
    monkeypatch.setenv("CONNECTOR_TLS_CERT_FILE", str(pki["cert"]))
    monkeypatch.setenv("CONNECTOR_TLS_KEY_FILE", str(garbage))
    with pytest.raises(SettingsError) as caught:
        server_tls(load_settings())
    assert str(caught.value).startswith("CONNECTOR_TLS_KEY_FILE:")
    assert "secret-0123456789" not in str(caught.value)


def test_tls_key_of_another_certificate_is_refused(
    monkeypatch: pytest.MonkeyPatch, pki: dict[str, Path]
) -> None:
    monkeypatch.setenv("CONNECTOR_TLS_CERT_FILE", str(pki["cert"]))
    monkeypatch.setenv("CONNECTOR_TLS_KEY_FILE", str(pki["other_key"]))
    with pytest.raises(SettingsError, match="not a usable certificate and key pair"):
        server_tls(load_settings())


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
        server_tls(load_settings())
