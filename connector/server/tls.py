"""TLS on both ends of the gRPC connection, and the rule that keeps plaintext off the network.

Server side: `server_tls` reads and checks the PEM files the settings name, `bind` adds the
listening port, with TLS (mutual TLS with a client CA) when configured, and refuses plaintext on
a non-loopback address unless CONNECTOR_ALLOW_INSECURE says it is deliberate. Client side
(`health`, `sync --connect`): `ClientTls` and `open_channel`.

The settings hold only the paths; the files are read here, at start-up, and a file that cannot
be used fails with a SettingsError naming its variable or flag (exit 2), never its content.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import structlog

from connector.settings import Settings, SettingsError

log = structlog.get_logger(__name__)

# A (path, name) pair: the file, and the flag or variable to name when it is unusable.
NamedPath = tuple[Path, str]


@dataclass(frozen=True)
class ServerTls:
    """PEM bytes for the gRPC listener; a client CA means client certificates are required."""

    cert_chain: bytes
    private_key: bytes = field(repr=False)
    client_ca: bytes | None = None

    @property
    def mutual(self) -> bool:
        return self.client_ca is not None


def server_tls(settings: Settings) -> ServerTls | None:
    """The listener's TLS material read from the files the settings name; None for plaintext.

    Raises SettingsError naming the variable when a file is unreadable, is not PEM, or the key
    does not belong to the certificate (checked here so start-up fails with a reason instead of
    gRPC's bare "failed to bind").
    """
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    cert, key = _load_key_pair(
        (settings.tls_cert_file, "CONNECTOR_TLS_CERT_FILE"),
        (settings.tls_key_file, "CONNECTOR_TLS_KEY_FILE"),
    )
    client_ca = None
    if settings.tls_client_ca_file is not None:
        client_ca = _read_pem(
            settings.tls_client_ca_file, "CONNECTOR_TLS_CLIENT_CA_FILE", "CERTIFICATE"
        )
    return ServerTls(cert_chain=cert, private_key=key, client_ca=client_ca)


def is_loopback(listen: str) -> bool:
    """Whether HOST:PORT only accepts connections from this machine (127.0.0.0/8, ::1)."""
    host = listen.rpartition(":")[0].strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name could resolve to anything


def bind(server: grpc.Server, listen: str, tls: ServerTls | None, *, allow_insecure: bool) -> int:
    """Add the listening port to `server` and return its number; OSError if it cannot bind."""
    if tls is None and not is_loopback(listen):
        if not allow_insecure:
            raise SettingsError(
                f"CONNECTOR_LISTEN: {listen} is reachable from other machines, so it needs "
                "TLS (CONNECTOR_TLS_CERT_FILE and CONNECTOR_TLS_KEY_FILE); to serve "
                "plaintext anyway (a trusted network), set CONNECTOR_ALLOW_INSECURE=true"
            )
        log.warning(
            "insecure_listen",
            listen=listen,
            detail="plaintext gRPC on a non-loopback address (CONNECTOR_ALLOW_INSECURE=true)",
        )
    try:
        if tls is None:
            port = server.add_insecure_port(listen)
        else:
            port = server.add_secure_port(listen, _server_credentials(tls))
    except RuntimeError:  # grpc raises a bare "Failed to bind" (address in use, bad host)
        port = 0
    if port == 0:
        raise OSError(f"cannot listen on {listen}")
    if tls is not None:
        log.info("tls", listen=listen, client_certificates="required" if tls.mutual else "no")
    return port


def _server_credentials(tls: ServerTls) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials(
        [(tls.private_key, tls.cert_chain)],
        root_certificates=tls.client_ca,
        require_client_auth=tls.mutual,
    )


@dataclass(frozen=True)
class ClientTls:
    """How a local client dials a TLS listener: trusted roots, an optional client certificate
    (mutual TLS) and the name to verify when the address is not one the certificate names."""

    root_ca: bytes | None = None  # None: the system's trusted roots
    cert_chain: bytes | None = None
    private_key: bytes | None = field(default=None, repr=False)
    server_name: str | None = None

    @classmethod
    def load(
        cls,
        *,
        ca: NamedPath | None = None,
        cert: NamedPath | None = None,
        key: NamedPath | None = None,
        server_name: str | None = None,
    ) -> ClientTls:
        """Read and check the files; SettingsError names the flag or variable at fault."""
        if (cert is None) != (key is None):
            named = cert or key
            assert named is not None
            raise SettingsError(f"{named[1]}: a client certificate needs both its cert and key")
        chain = private = None
        if cert is not None and key is not None:
            chain, private = _load_key_pair(cert, key)
        roots = _read_pem(*ca, "CERTIFICATE") if ca is not None else None
        return cls(roots, chain, private, server_name or None)

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(self.root_ca, self.private_key, self.cert_chain)

    def options(self) -> list[tuple[str, str]]:
        if not self.server_name:
            return []
        return [("grpc.ssl_target_name_override", self.server_name)]


def open_channel(address: str, tls: ClientTls | None) -> grpc.Channel:
    """A channel to `address`: plaintext without `tls`, verified TLS with it."""
    if tls is None:
        return grpc.insecure_channel(address)
    return grpc.secure_channel(address, tls.credentials(), options=tls.options())


def _read_pem(path: Path, name: str, kind: str) -> bytes:
    """A PEM file's bytes; SettingsError naming `name` if unreadable or not `kind`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SettingsError(
            f"{name}: cannot read {path} ({exc.strerror or type(exc).__name__})"
        ) from None
    # "PRIVATE KEY" also matches the "EC PRIVATE KEY" and "RSA PRIVATE KEY" PEM labels.
    if b"-----BEGIN " not in data or f"{kind}-----".encode() not in data:
        raise SettingsError(f"{name}: {path} holds no PEM {kind.lower()}")
    return data


def _load_key_pair(cert: NamedPath, key: NamedPath) -> tuple[bytes, bytes]:
    """The PEM bytes of a certificate file and its key file, checked to belong together."""
    chain = _read_pem(*cert, "CERTIFICATE")
    private = _read_pem(*key, "PRIVATE KEY")

    def no_passphrase() -> bytes:
        # An encrypted key would otherwise make OpenSSL prompt on the terminal.
        raise SettingsError(f"{key[1]}: the key is encrypted; gRPC needs it unencrypted")

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            cert[0], key[0], password=no_passphrase
        )
    except ssl.SSLError as exc:
        raise SettingsError(
            f"{cert[1]} / {key[1]}: not a usable certificate and key pair "
            f"({exc.reason or 'invalid'})"
        ) from None
    return chain, private


__all__ = ["ClientTls", "ServerTls", "bind", "is_loopback", "open_channel", "server_tls"]
