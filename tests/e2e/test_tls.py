"""TLS and mutual TLS on the gRPC listener, and the refusal of plaintext off loopback.

A throwaway PKI (tests/e2e/certs.py) is written to disk and configured through the same
environment variables an operator sets; clients dial over real gRPC channels on loopback.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from structlog.testing import capture_logs

from connector.cli import main
from connector.fake_clerk import FakeClerk, awkward
from connector.platform.syncer import run_sync
from connector.server.process import RunningServer, build_connector, clerk_client, serving
from connector.server.tls import ClientTls, ServerTls, is_loopback, open_channel, server_tls
from connector.settings import SettingsError, load_settings
from tests.e2e.certs import Authority, Issued, authority
from tests.e2e.harness import expected_ids
from tests.e2e.test_cli import CANARY, assert_no_canary, env_for, free_port, poll, run, start


@dataclass(frozen=True)
class Pki:
    ca: Authority
    server: Issued
    client: Issued
    stranger: Issued  # a client certificate from another CA


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca = authority(folder / "ca", "connector-ca")
    other = authority(folder / "other", "other-ca")
    return Pki(
        ca,
        ca.issue("server", server=True),
        ca.issue("platform", server=False),
        other.issue("stranger", server=False),
    )


@pytest.fixture
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(awkward(), secret_key=CANARY) as running:
        yield running


def tls_env(pki: Pki, *, mutual: bool) -> dict[str, str]:
    env = {
        "CONNECTOR_TLS_CERT_FILE": str(pki.server.cert),
        "CONNECTOR_TLS_KEY_FILE": str(pki.server.key),
    }
    if mutual:
        env["CONNECTOR_TLS_CLIENT_CA_FILE"] = str(pki.ca.cert)
    return env


def listener_tls(pki: Pki, *, mutual: bool) -> ServerTls:
    tls = server_tls(load_settings(**tls_env(pki, mutual=mutual)))
    assert tls is not None
    assert tls.mutual is mutual
    return tls


@contextmanager
def connector(
    fake: FakeClerk,
    tls: ServerTls | None,
    listen: str = "127.0.0.1:0",
    *,
    allow_insecure: bool = False,
) -> Iterator[RunningServer]:
    settings = load_settings(CLERK_SECRET_KEY=fake.secret_key, CLERK_API_URL=fake.url)
    with (
        clerk_client(settings) as client,
        serving(
            build_connector(settings, client), listen, tls=tls, allow_insecure=allow_insecure
        ) as running,
    ):
        yield running


def client_tls(pki: Pki, cert: Issued | None = None, server_name: str | None = None) -> ClientTls:
    return ClientTls.load(
        ca=(pki.ca.cert, "ca"),
        cert=(cert.cert, "cert") if cert else None,
        key=(cert.key, "key") if cert else None,
        server_name=server_name,
    )


def health_of(address: str, tls: ClientTls | None) -> str:
    """SERVING (or another serving status), or the gRPC code the call failed with."""
    with open_channel(address, tls) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        except grpc.RpcError as exc:
            return str(exc.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def test_tls_listener_serves_clients_that_trust_its_ca(pki: Pki, fake: FakeClerk) -> None:
    with connector(fake, listener_tls(pki, mutual=False)) as server:
        assert health_of(server.address, client_tls(pki)) == "SERVING"  # IP SAN 127.0.0.1
        named = client_tls(pki, server_name="localhost")
        assert health_of(server.address, named) == "SERVING"
        # The name is really verified: one the certificate does not carry is refused.
        wrong_name = client_tls(pki, server_name="clerk-connector.example")
        assert health_of(server.address, wrong_name) == "UNAVAILABLE"
        # A client that does not trust the CA, and a plaintext client, get nowhere.
        stranger_roots = ClientTls(root_ca=pki.stranger.cert.read_bytes())
        assert health_of(server.address, stranger_roots) == "UNAVAILABLE"
        assert health_of(server.address, None) == "UNAVAILABLE"


def test_mutual_tls_admits_only_certificates_from_the_client_ca(pki: Pki, fake: FakeClerk) -> None:
    with connector(fake, listener_tls(pki, mutual=True)) as server:
        assert health_of(server.address, client_tls(pki)) == "UNAVAILABLE"  # no certificate
        assert health_of(server.address, client_tls(pki, pki.stranger)) == "UNAVAILABLE"
        assert health_of(server.address, None) == "UNAVAILABLE"
        assert health_of(server.address, client_tls(pki, pki.client)) == "SERVING"


def test_platform_sync_over_mutual_tls_returns_every_id(pki: Pki, fake: FakeClerk) -> None:
    with (
        connector(fake, listener_tls(pki, mutual=True)) as server,
        open_channel(server.address, client_tls(pki, pki.client)) as channel,
    ):
        result = run_sync(channel)
    expected = expected_ids(fake.dataset)
    assert {f"{r.id.resource_type}:{r.id.resource}" for r in result.resources} == (
        expected.resources
    )
    assert {e.id for e in result.entitlements} == expected.entitlements
    assert {g.id for g in result.grants} == expected.grants
    assert len(result.grants) == len(expected.grants)


@pytest.mark.parametrize("listen", ["0.0.0.0:0", "[::]:0", "10.20.30.40:0", "clerk.example:0"])
def test_plaintext_off_loopback_is_refused(fake: FakeClerk, listen: str) -> None:
    with pytest.raises(SettingsError) as caught, connector(fake, None, listen):
        pass
    message = str(caught.value)
    assert message.startswith("CONNECTOR_LISTEN:")
    assert "CONNECTOR_ALLOW_INSECURE" in message
    assert "CONNECTOR_TLS_CERT_FILE" in message


def test_insecure_flag_serves_plaintext_with_a_warning(fake: FakeClerk) -> None:
    with capture_logs() as logs, connector(fake, None, "0.0.0.0:0", allow_insecure=True) as srv:
        assert health_of(srv.address, None) == "SERVING"
    warnings = [entry for entry in logs if entry["event"] == "insecure_listen"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["listen"] == "0.0.0.0:0"


def test_tls_off_loopback_needs_no_flag_and_warns_nothing(pki: Pki, fake: FakeClerk) -> None:
    with (
        capture_logs() as logs,
        connector(fake, listener_tls(pki, mutual=True), "0.0.0.0:0") as server,
    ):
        assert health_of(server.address, client_tls(pki, pki.client)) == "SERVING"
    events = [entry["event"] for entry in logs]
    assert "insecure_listen" not in events
    assert "tls" in events


@pytest.mark.parametrize(
    ("listen", "loopback"),
    [
        ("127.0.0.1:1", True),
        ("127.8.9.10:1", True),
        ("localhost:1", True),
        ("LOCALHOST:1", True),
        ("[::1]:1", True),
        ("0.0.0.0:1", False),
        ("[::]:1", False),
        ("192.168.1.5:1", False),
        ("connector.internal:1", False),
        ("[::ffff:127.0.0.1]:1", False),  # mapped addresses are treated as exposed
    ],
)
def test_is_loopback(listen: str, loopback: bool) -> None:
    assert is_loopback(listen) is loopback


def test_client_tls_names_the_flag_at_fault(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^--tls-cert: a client certificate needs both"):
        ClientTls.load(cert=(pki.client.cert, "--tls-cert"))
    with pytest.raises(SettingsError, match=r"^--tls-ca: cannot read"):
        ClientTls.load(ca=(tmp_path / "absent.pem", "--tls-ca"))
    with pytest.raises(SettingsError, match=r"^--tls-cert / --tls-key: not a usable"):
        ClientTls.load(cert=(pki.client.cert, "--tls-cert"), key=(pki.server.key, "--tls-key"))


# --- the command line, as the container and an operator run it ---------------------------


def test_health_names_the_setting_or_flag_of_an_unusable_tls_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CONNECTOR_HEALTH_TLS_CA_FILE", str(tmp_path / "absent.pem"))
    prefix = "clerk-connector: configuration error: "
    assert main(["health", "--address", "127.0.0.1:1"]) == 2
    assert capsys.readouterr().err.startswith(f"{prefix}CONNECTOR_HEALTH_TLS_CA_FILE: cannot read")
    # A flag wins over its setting, and is the one named.
    flag = ["--tls-ca", str(tmp_path / "other.pem")]
    assert main(["health", "--address", "127.0.0.1:1", *flag]) == 2
    assert capsys.readouterr().err.startswith(f"{prefix}--tls-ca: cannot read")


def probe_env(pki: Pki, port: int, fake: FakeClerk) -> dict[str, str]:
    """What the Kubernetes probe sees: the server's env plus the health client's TLS files."""
    return env_for(
        fake,
        CONNECTOR_LISTEN=f"0.0.0.0:{port}",
        CONNECTOR_HEALTH_TLS_CA_FILE=str(pki.ca.cert),
        CONNECTOR_HEALTH_TLS_CERT_FILE=str(pki.client.cert),
        CONNECTOR_HEALTH_TLS_KEY_FILE=str(pki.client.key),
        CONNECTOR_HEALTH_TLS_SERVER_NAME="localhost",
        **tls_env(pki, mutual=True),
    )


def healthy(env: dict[str, str]) -> subprocess.CompletedProcess[str] | None:
    """The bare `health` command, as the container's probe runs it, once it succeeds."""
    probe = run(["health", "--timeout", "2"], env)
    return probe if probe.returncode == 0 else None


def test_cli_serve_health_and_sync_over_mutual_tls(
    pki: Pki, fake: FakeClerk, tmp_path: Path
) -> None:
    port = free_port()
    env = probe_env(pki, port, fake)
    server = start(["serve"], env)  # 0.0.0.0 with TLS: no insecure flag needed
    try:
        probe = poll(lambda: healthy(env))
        assert probe.stdout.strip() == "serving"
        plain = {k: v for k, v in env.items() if not k.startswith("CONNECTOR_HEALTH_TLS")}
        refused = run(["health", "--timeout", "2"], plain)
        assert refused.returncode == 1
        assert "the server uses TLS" in refused.stderr

        out = tmp_path / "sync.json"
        flags = ["--tls-ca", str(pki.ca.cert), "--tls-cert", str(pki.client.cert)]
        flags += ["--tls-key", str(pki.client.key), "--tls-server-name", "localhost"]
        address = f"127.0.0.1:{port}"
        synced = run(["sync", "--connect", address, "--output", str(out), *flags], env)
        assert synced.returncode == 0, synced.stderr
        counts = json.loads(out.read_text())["counts"]
        assert counts["user"]["resources"] == len(fake.dataset.users)
        outputs = [probe.stdout, probe.stderr, refused.stdout, refused.stderr]
        outputs += [synced.stdout, synced.stderr, out.read_text()]
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(e["event"] == "tls" and e["client_certificates"] == "required" for e in events)
    assert_no_canary(stdout, stderr, *outputs)


def test_cli_serve_refuses_plaintext_off_loopback_unless_allowed(fake: FakeClerk) -> None:
    port = free_port()
    refused = run(["serve", "--listen", f"0.0.0.0:{port}"], env_for(fake))
    assert refused.returncode == 2
    assert "CONNECTOR_ALLOW_INSECURE=true" in refused.stderr
    assert refused.stderr.strip().count("\n") == 0

    env = env_for(fake, CONNECTOR_ALLOW_INSECURE="true", CONNECTOR_LISTEN=f"0.0.0.0:{port}")
    server = start(["serve"], env)
    try:
        poll(lambda: healthy(env))
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    warnings = [json.loads(line) for line in stderr.splitlines() if "insecure_listen" in line]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "warning"
    assert_no_canary(refused.stdout, refused.stderr, stdout, stderr)
