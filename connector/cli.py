"""The `clerk-connector` command line: serve, validate, sync, report, diff, grant, revoke,
fake-clerk, demo."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from connector import __version__
from connector.clerk import ClerkError
from connector.cli_provision import add_provisioning_commands
from connector.logs import configure_logging, redact
from connector.server.process import (
    build_connector,
    clerk_client,
    in_process_server,
    serve_until_signalled,
)
from connector.server.tls import ClientTls, open_channel, server_tls
from connector.settings import (
    LogFormat,
    LogLevel,
    Settings,
    SettingsError,
    load_settings,
    variable,
)

if TYPE_CHECKING:
    from connector.clerk.transport import RequestEvent
    from connector.platform.progress import SyncProgress

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_CHANGED = 1  # diff: something changed, as diff(1) says
EXIT_BAD_INPUT = 2  # report, diff: a sync file that cannot be read


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except SettingsError as exc:
        print(f"clerk-connector: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clerk-connector",
        description="Serve a Clerk instance to a governance platform over c1.connector.v2.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the gRPC connector server")
    serve.add_argument("--listen", help="HOST:PORT (default: CONNECTOR_LISTEN or 127.0.0.1:50051)")
    serve.set_defaults(run=_serve)

    validate = commands.add_parser("validate", help="check the secret key against Clerk")
    validate.set_defaults(run=_validate)

    sync = commands.add_parser("sync", help="run a platform-style sync and write what it got")
    sync.add_argument(
        "--connect", metavar="HOST:PORT", help="a running server (default: in-process)"
    )
    sync.add_argument(
        "--output",
        type=Path,
        default=Path("sync-output.json"),
        help="the sync file (c1z when it ends in .c1z, else JSON)",
    )
    sync.add_argument("--format", choices=["json", "c1z"], help="overrides the --output suffix")
    sync.add_argument("--page-size", type=int, default=0, help="0 lets the connector choose")
    sync.add_argument("--sync-id", help="the active_sync_id to send (default: a new uuid)")
    _add_tls_flags(sync, env=False)
    sync.set_defaults(run=_sync)

    _add_report_commands(commands)
    add_provisioning_commands(commands)

    fake = commands.add_parser("fake-clerk", help="serve the bundled fake Clerk for testing")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=8787)
    fake.add_argument("--dataset", choices=["demo", "awkward", "generated"], default="demo")
    fake.add_argument("--users", type=int, default=1000, help="with --dataset generated")
    fake.add_argument("--organizations", type=int, default=100, help="with --dataset generated")
    fake.add_argument("--memberships", type=int, default=3000, help="with --dataset generated")
    fake.add_argument("--secret-key", default="sk_test_fake_clerk", help="the key it accepts")
    fake.add_argument("--rate-limit", type=int, default=0, help="requests per 10 s (0: off)")
    fake.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay every response this long (0: off)"
    )
    fake.set_defaults(run=_fake_clerk)

    check = commands.add_parser("health", help="ask a running server's gRPC health service")
    check.add_argument(
        "--address", metavar="HOST:PORT", help="default: the port of CONNECTOR_LISTEN on loopback"
    )
    check.add_argument("--timeout", type=float, default=3.0)
    check.add_argument(
        "--liveness",
        action="store_true",
        help="succeed whenever the server answers, even NOT_SERVING (a restart cannot fix a "
        "rejected key)",
    )
    _add_tls_flags(check, env=True)
    check.set_defaults(run=_health)

    demo = commands.add_parser(
        "demo", help="fake Clerk + connector + sync, with a readable summary"
    )
    demo.add_argument("--output", type=Path, default=Path("sync-output.json"))
    demo.add_argument("--report-dir", type=Path, default=Path("access-report"))
    demo.set_defaults(run=_demo)
    return parser


def _settings(**overrides: object) -> Settings:
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _serve(args: argparse.Namespace) -> int:
    overrides = {"CONNECTOR_LISTEN": args.listen} if args.listen else {}
    settings = _settings(**overrides)
    tls = server_tls(settings)
    with clerk_client(settings) as client:
        serve_until_signalled(
            build_connector(settings, client),
            settings.listen,
            metrics_listen=settings.metrics_listen,
            tls=tls,
            allow_insecure=settings.allow_insecure,
        )
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    settings = _settings()
    with clerk_client(settings) as client:
        try:
            summary = client.validate()
        except ClerkError as exc:
            print(f"invalid: {redact(str(exc))}", file=sys.stderr)
            return EXIT_FAILED
    users = "" if summary.user_count is None else f" ({summary.user_count} users)"
    print(
        f"ok: the key is accepted by the {summary.instance_kind} instance at "
        f"{settings.clerk_api_url}{users}"
    )
    return EXIT_OK


@contextmanager
def _channel_to(
    settings: Settings | None,
    address: str | None,
    tls: ClientTls | None = None,
    clerk_observer: Callable[[RequestEvent], None] | None = None,
) -> Iterator[grpc.Channel]:
    """A channel to `address` (TLS with `tls`), or to a server started in-process (whose
    Clerk requests `clerk_observer` sees)."""
    if address:
        with open_channel(address, tls) as channel:
            yield channel
        return
    assert settings is not None
    with in_process_server(settings) as running, grpc.insecure_channel(running.address) as channel:
        if clerk_observer is not None:
            running.observability.app.client.stats.subscribe(clerk_observer)
        yield channel


def _sync(args: argparse.Namespace) -> int:
    from connector.platform.progress import SyncProgress
    from connector.platform.syncer import SyncFailed, SyncResult, run_sync
    from connector.platform.syncfile import SyncFileError, format_for, write_sync_file

    _check_output(args.output)
    file_format = format_for(args.output, args.format)
    tls = _client_tls(args, None)
    if tls is not None and not args.connect:
        raise SettingsError("--tls-* flags need --connect (the in-process server is loopback)")
    settings = _settings() if not args.connect else None
    log_level, log_format = (
        (settings.log_level, settings.log_format) if settings else (LogLevel.INFO, LogFormat.AUTO)
    )
    configure_logging(log_level, log_format)
    # Live progress only on a terminal; elsewhere nothing but the logs (JSON) is added.
    progress = SyncProgress.for_terminal(sys.stderr, local_clerk=not args.connect)
    if progress is not None:
        configure_logging(log_level, log_format, stream=progress.log_stream())
    started = datetime.now(UTC)
    try:
        with _channel_to(settings, args.connect, tls, _clerk_observer(progress)) as channel:
            result: SyncResult
            if progress is None:
                result = run_sync(channel, sync_id=args.sync_id, page_size=args.page_size)
            else:
                with progress:
                    result = run_sync(
                        progress.channel(channel),
                        sync_id=args.sync_id,
                        page_size=args.page_size,
                        sleep=progress.sleep,
                    )
    except SyncFailed as exc:
        print(f"sync failed: {redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if progress is not None:
            configure_logging(log_level, log_format)
    try:
        write_sync_file(
            args.output, result, file_format, started_at=started, ended_at=datetime.now(UTC)
        )
    except (SyncFileError, OSError) as exc:
        print(f"sync failed: cannot write {args.output}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(_counts_table(result.counts()))
    unresolved = result.unresolved_role_keys()
    print(f"unresolved role keys: {sum(unresolved.values())}" + _detail(unresolved))
    for key, permissions in result.unresolved_permissions().items():
        print(f"  {key} still carries permissions: {', '.join(permissions)}")
    print(_completeness(result.listings(), result.events()))
    print(f"written to {args.output} ({file_format})")
    return EXIT_OK


def _clerk_observer(progress: SyncProgress | None) -> Callable[[RequestEvent], None] | None:
    if progress is None:
        return None
    return lambda event: progress.clerk_request(event.route, event.rate_limit_wait_seconds)


def _add_report_commands(commands: Any) -> None:
    # Defaults are resolved when the command runs: building the parser imports nothing more
    # (every `health` probe builds it).
    report = commands.add_parser(
        "report", help="an access report (one HTML page and CSV files) from a sync file"
    )
    report.add_argument("syncfile", type=Path, help="a c1z or JSON sync file")
    report.add_argument("--out", type=Path, default=Path("access-report"), help="a directory")
    report.add_argument(
        "--stale-days",
        type=int,
        metavar="N",
        help="admin-level holders not signed in for more than N days are a finding (default 90)",
    )
    report.add_argument(
        "--many-organizations",
        type=int,
        metavar="N",
        help="users holding admin-level roles in N or more organizations are a finding (default 3)",
    )
    report.add_argument(
        "--as-of",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the report's date (default: when the sync ended, else today)",
    )
    report.add_argument(
        "--html-rows",
        type=int,
        metavar="N",
        help="rows per table on the page (default 5000; the CSVs hold every row)",
    )
    report.set_defaults(run=_report)

    diff = commands.add_parser(
        "diff", help="what changed between two sync files (exit 0: nothing, 1: something)"
    )
    diff.add_argument("old", type=Path, help="the earlier sync file (c1z or JSON)")
    diff.add_argument("new", type=Path, help="the later sync file")
    shape = diff.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="JSON instead of text")
    shape.add_argument("--html", action="store_true", help="one HTML page instead of text")
    diff.add_argument("--out", type=Path, help="write to this file instead of standard output")
    diff.set_defaults(run=_diff)


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _report(args: argparse.Namespace) -> int:
    from connector.platform.findings import (
        DEFAULT_MANY_ORGANIZATIONS,
        DEFAULT_STALE_DAYS,
        Thresholds,
    )
    from connector.platform.report import DEFAULT_HTML_ROWS, build_report, write_report
    from connector.platform.syncfile import SyncFileError, load_sync_file

    _check_directory(args.out, "--out")
    try:
        source = load_sync_file(args.syncfile)
    except SyncFileError as exc:
        print(f"clerk-connector report: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    as_of = args.as_of or source.ended_at or datetime.now(UTC)
    thresholds = Thresholds(
        as_of=as_of,
        stale_days=DEFAULT_STALE_DAYS if args.stale_days is None else args.stale_days,
        many_organizations=args.many_organizations or DEFAULT_MANY_ORGANIZATIONS,
    )
    report = build_report(source, thresholds)
    try:
        page = write_report(report, args.out, html_rows=args.html_rows or DEFAULT_HTML_ROWS)
    except OSError as exc:
        print(f"clerk-connector report: cannot write {args.out}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(report.summary())
    print(f"access report: {page} (CSV files beside it)")
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from connector.platform.diff import diff_syncs, dumps
    from connector.platform.files import atomic_text
    from connector.platform.syncfile import SyncFileError, load_sync_file

    try:
        old, new = load_sync_file(args.old), load_sync_file(args.new)
    except SyncFileError as exc:
        print(f"clerk-connector diff: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    changes = diff_syncs(old, new)
    text = dumps(changes) if args.json else changes.to_html() if args.html else changes.to_text()
    if args.out is None:
        print(text)
    else:
        try:
            atomic_text(args.out, text if text.endswith("\n") else text + "\n")
        except OSError as exc:
            print(f"clerk-connector diff: cannot write {args.out}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    return EXIT_CHANGED if changes.changed else EXIT_OK


def _completeness(listings: list[dict[str, Any]], events: dict[str, int]) -> str:
    """One line per Clerk listing: distinct rows read against Clerk's own total."""
    lines = ["completeness (distinct rows read / Clerk's total):"]
    for item in listings:
        repaired = int(item.get("repaired", 0))
        note = f", {repaired} found by a repair pass" if repaired else ""
        lines.append(
            f"  {item.get('route')}: {int(item.get('read', 0))} / {int(item.get('expected', 0))}"
            f" (churn {int(item.get('churn', 0))}{note})"
        )
    if len(lines) == 1:
        lines.append("  (no report: the server sent none)")
    lines.append("events: " + (_detail(events).strip(" ()") or "none"))
    return "\n".join(lines)


def _detail(counter: dict[str, int]) -> str:
    if not counter:
        return ""
    return " (" + ", ".join(f"{key} x{count}" for key, count in sorted(counter.items())) + ")"


def _counts_table(counts: dict[str, dict[str, int]]) -> str:
    lines = [f"{'resource type':<26}{'resources':>10}{'entitlements':>14}{'grants':>10}"]
    for type_id, row in counts.items():
        lines.append(
            f"{type_id:<26}{row['resources']:>10}{row['entitlements']:>14}{row['grants']:>10}"
        )
    return "\n".join(lines)


def _fake_clerk(args: argparse.Namespace) -> int:
    from connector.fake_clerk import Latency, RateLimit, serve
    from connector.fake_clerk import data as datasets

    configure_logging(LogLevel.INFO, LogFormat.AUTO)
    if args.dataset == "generated":
        data = datasets.generate(
            users=args.users, organizations=args.organizations, memberships=args.memberships
        )
    else:
        data = datasets.demo() if args.dataset == "demo" else datasets.awkward()
    rate_limit = RateLimit(requests=args.rate_limit, per_seconds=10.0) if args.rate_limit else None
    print(f"fake Clerk at http://{args.host}:{args.port}/v1", flush=True)
    latency = Latency(milliseconds=args.latency_ms) if args.latency_ms else None
    serve(
        data,
        host=args.host,
        port=args.port,
        secret_key=args.secret_key,
        rate_limit=rate_limit,
        latency=latency,
    )
    return EXIT_OK


def _health(args: argparse.Namespace) -> int:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    settings = load_settings()
    address = args.address or _local_address(settings.listen)
    tls = _client_tls(args, settings)
    try:
        with open_channel(address, tls) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=args.timeout
            )
    except grpc.RpcError as exc:
        hint = ""
        if tls is None and settings.tls_cert_file is not None:
            hint = " (the server uses TLS: set CONNECTOR_HEALTH_TLS_CA_FILE or --tls-ca)"
        print(f"unhealthy: {exc.code().name}{hint}", file=sys.stderr)
        return EXIT_FAILED
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(status.lower())
    serving = reply.status == health_pb2.HealthCheckResponse.SERVING
    return EXIT_OK if serving or args.liveness else EXIT_FAILED


# (flag, the setting `health` reads when the flag is absent): the container's probe has no flags.
_TLS_FLAGS = {
    "tls_ca": ("--tls-ca", "health_tls_ca_file"),
    "tls_cert": ("--tls-cert", "health_tls_cert_file"),
    "tls_key": ("--tls-key", "health_tls_key_file"),
    "tls_server_name": ("--tls-server-name", "health_tls_server_name"),
}


def _add_tls_flags(parser: argparse.ArgumentParser, *, env: bool) -> None:
    group = parser.add_argument_group("TLS, to reach a server that uses it")
    helps = {
        "tls_ca": "PEM CA that issued the server's certificate (default: system roots)",
        "tls_cert": "PEM client certificate, for mutual TLS",
        "tls_key": "PEM key of --tls-cert",
        "tls_server_name": "the name to verify in the server's certificate (e.g. localhost)",
    }
    for dest, (flag, setting) in _TLS_FLAGS.items():
        suffix = f"; env {variable(setting)}" if env else ""
        metavar = "NAME" if dest == "tls_server_name" else "FILE"
        group.add_argument(flag, dest=dest, metavar=metavar, help=helps[dest] + suffix)


def _client_tls(args: argparse.Namespace, settings: Settings | None) -> ClientTls | None:
    """TLS for a local client from the --tls-* flags (and, with `settings`, their settings)."""
    given: dict[str, tuple[str, str]] = {}  # dest -> (value, the flag or variable it came from)
    for dest, (flag, setting) in _TLS_FLAGS.items():
        if getattr(args, dest):
            given[dest] = (getattr(args, dest), flag)
        elif settings is not None and getattr(settings, setting) is not None:
            given[dest] = (str(getattr(settings, setting)), variable(setting))
    if not given:
        return None

    def path(dest: str) -> tuple[Path, str] | None:
        return (Path(given[dest][0]), given[dest][1]) if dest in given else None

    return ClientTls.load(
        ca=path("tls_ca"),
        cert=path("tls_cert"),
        key=path("tls_key"),
        server_name=given["tls_server_name"][0] if "tls_server_name" in given else None,
    )


def _local_address(listen: str) -> str:
    """Where a process on the same host reaches a server listening on `listen`."""
    host, _, port = listen.rpartition(":")
    return f"127.0.0.1:{port}" if host in ("0.0.0.0", "[::]", "") else listen


def _demo(args: argparse.Namespace) -> int:
    from connector.demo import run_demo

    _check_output(args.output)
    _check_directory(args.report_dir, "--report-dir")
    return run_demo(args.output, args.report_dir)


def _check_output(path: Path) -> None:
    """Refuse an unwritable --output before the sync (exit 2, one line), not after it."""
    existed = os.path.lexists(path)
    try:
        with path.open("ab"):  # appends nothing: an existing file is left as it is
            pass
    except OSError as exc:
        raise SettingsError(
            f"--output {path}: cannot write there ({exc.strerror or type(exc).__name__})"
        ) from None
    if not existed:
        path.unlink()  # written only once the sync succeeds


def _check_directory(path: Path, flag: str) -> None:
    """Refuse an output directory that cannot be written (exit 2, one line) before any work."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise SettingsError(
            f"{flag} {path}: cannot write there ({exc.strerror or type(exc).__name__})"
        ) from None


if __name__ == "__main__":
    raise SystemExit(main())
