"""TLS on both ends of the gRPC connection, and the rule that keeps plaintext off the network.

Server side: `bind` adds the listening port, with TLS (mutual TLS with a client CA) when
configured, and refuses plaintext on a non-loopback address unless CONNECTOR_ALLOW_INSECURE
says it is deliberate. Client side (`health`, `sync --connect`): `ClientTls` and `open_channel`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import structlog

from connector.settings import ServerTls, SettingsError, load_key_pair, read_pem

log = structlog.get_logger(__name__)

# A (path, name) pair: the file, and the flag or variable to name when it is unusable.
NamedPath = tuple[Path, str]


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
            chain, private = load_key_pair(cert, key)
        roots = read_pem(*ca, "CERTIFICATE") if ca is not None else None
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


__all__ = ["ClientTls", "bind", "is_loopback", "open_channel"]
