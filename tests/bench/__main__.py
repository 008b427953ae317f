"""`make bench`: full platform-style syncs against the fake Clerk with its rate limit on.

Three processes per case, as in production: the fake Clerk (its own process, so its CPU is not
counted), the connector (`clerk-connector serve`, measured through /proc), and this driver,
which syncs over a real gRPC channel the way the platform does (connector.platform.syncer.run_sync).

Figures per case:
- requests: Clerk requests the fake received during the sync (the server's start-up key check
  is not counted); bound: the fewest a full sync can make,
  sum of ceil(n/500) over users, organizations, memberships, roles, permissions and role sets;
- wall: Validate to the end of Cleanup; rate bound: requests / the connector's budget
  (share x the key's documented limit: 50 or 500 requests per 10 s with the default share);
- 429s the fake answered; server CPU seconds during the sync and per emitted object
  (resources + entitlements + grants); the server's peak RSS (VmHWM);
- the driver's own CPU seconds, and per RPC kind its count, mean and p95 time as the driver saw
  it (when the driver is the limit, these show it);
- with `--latency-ms` (default 250), the latency scenario: the `--latency-sizes` (default L) at
  the production rate again, every Clerk response delayed that long (rows marked `+250 ms`);
  the fake's peak of requests in flight shows how many reads the connector kept going.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from connector.platform.syncer import run_sync

ROOT = Path(__file__).resolve().parents[2]
SHARE = 0.5  # the connector's default CONNECTOR_RATE_LIMIT_SHARE
WINDOW = 10.0
SERVER_CPU = (os.cpu_count() or 1) - 1
PIN_SERVER = (os.cpu_count() or 1) > 1


@dataclass(frozen=True)
class Size:
    name: str
    users: int
    organizations: int
    memberships: int


@dataclass(frozen=True)
class Rate:
    name: str
    key: str
    limit: int  # Clerk's documented requests per 10 s for this kind of key


SIZES = {
    "S": Size("S", 50, 5, 150),
    "M": Size("M", 10_000, 1_000, 30_000),
    "L": Size("L", 100_000, 10_000, 300_000),
}
RATES = {
    "development": Rate("development", "sk_test_benchmark_key_000000", 100),
    "production": Rate("production", "sk_live_benchmark_key_000000", 1000),
}


@dataclass(frozen=True)
class Case:
    size: Size
    rate: Rate
    latency_ms: float = 0.0

    @property
    def label(self) -> str:
        mark = f" +{self.latency_ms:g} ms" if self.latency_ms else ""
        return f"{self.size.name}/{self.rate.name}{mark}"


@dataclass(frozen=True)
class RpcTimes:
    count: int
    mean_ms: float
    p95_ms: float
    total_s: float

    @classmethod
    def of(cls, seconds: list[float]) -> RpcTimes:
        ordered = sorted(seconds)
        p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)] if ordered else 0
        total = sum(ordered)
        mean = total / len(ordered) if ordered else 0.0
        return cls(len(ordered), mean * 1000, p95 * 1000, total)


@dataclass
class Row:
    case: Case
    size: Size
    rate: Rate
    requests: int
    bound: int
    wall: float
    rate_bound: float
    rate_limited: int
    cpu: float
    objects: int
    rss_mb: float
    by_route: dict[str, int]
    driver_cpu: float
    peak_in_flight: int
    rpc: dict[str, RpcTimes]

    @property
    def cpu_us_per_object(self) -> float:
        return self.cpu / self.objects * 1e6

    def cells(self) -> list[str]:
        rate = self.rate.name + (f" +{self.case.latency_ms:g} ms" if self.case.latency_ms else "")
        return [
            self.size.name,
            rate,
            f"{self.requests:,}",
            f"{self.bound:,}",
            f"{self.requests / self.bound:.3f}",
            f"{self.wall:.1f}",
            f"{self.rate_bound:.1f}",
            f"{self.wall / self.rate_bound:.2f}",
            str(self.rate_limited),
            f"{self.cpu:.2f}",
            f"{self.objects:,}",
            f"{self.cpu_us_per_object:.1f}",
            f"{self.rss_mb:.0f}",
            f"{self.driver_cpu:.2f}",
            str(self.peak_in_flight),
        ]


HEADER = [
    "size",
    "rate",
    "requests",
    "bound",
    "ratio",
    "wall s",
    "rate bound s",
    "ratio",
    "429s",
    "server CPU s",
    "objects",
    "CPU µs/object",
    "peak RSS MB",
    "driver CPU s",
    "peak in flight",
]


# A complete sync also counts the users twice (GET /users/count): the total at the end is its
# completeness evidence, the one at the start measures churn while the listing runs.
USER_COUNTS = 2


def lower_bound(counts: dict[str, int]) -> int:
    keys = ("users", "organizations", "memberships", "roles", "permissions", "role_sets")
    return sum(math.ceil(counts[key] / 500) for key in keys) + USER_COUNTS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def wait_serving(address: str, deadline: float) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                answer = stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"the connector at {address} did not become healthy")


def start_fake(
    size: Size, rate: Rate, latency_ms: float
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    command = [
        sys.executable,
        "-m",
        "tests.bench.fake_process",
        f"--users={size.users}",
        f"--organizations={size.organizations}",
        f"--memberships={size.memberships}",
        f"--secret-key={rate.key}",
        f"--rate-limit={rate.limit}",
        f"--latency-ms={latency_ms}",
    ]
    fake = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert fake.stdout is not None
    hello = json.loads(fake.stdout.readline())
    return fake, hello


def fake_stats(fake: subprocess.Popen[str]) -> dict[str, Any]:
    assert fake.stdin is not None
    assert fake.stdout is not None
    fake.stdin.write("stats\n")
    fake.stdin.flush()
    stats: dict[str, Any] = json.loads(fake.stdout.readline())
    return stats


def start_server(url: str, rate: Rate, port: int, log: IO[str]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CLERK_SECRET_KEY": rate.key,
        "CLERK_API_URL": url,
        "CONNECTOR_LISTEN": f"127.0.0.1:{port}",
        "CONNECTOR_LOG_FORMAT": "json",
        "CONNECTOR_LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "-c", "from connector.cli import main; main()", "serve"]
    if PIN_SERVER and shutil.which("taskset"):
        # The server on its own core, the fake Clerk and this driver on the other(s): its CPU
        # figures then do not include time lost to the other two processes' cache traffic.
        command = ["taskset", "--cpu-list", str(SERVER_CPU), *command]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def run_case(case: Case, logs: Path) -> Row:
    size, rate = case.size, case.rate
    fake, hello = start_fake(size, rate, case.latency_ms)
    port = free_port()
    log_path = logs / f"server-{size.name}-{rate.name}-{case.latency_ms:g}.log"
    with log_path.open("w") as log:
        server = start_server(hello["url"], rate, port, log)
        try:
            address = f"127.0.0.1:{port}"
            wait_serving(address, time.monotonic() + 60)
            time.sleep(0.5)  # let the server's start-up key check land before counting
            before = fake_stats(fake)  # requests before the sync (that check) are not its own
            cpu_before = cpu_seconds(server.pid)
            driver_before = time.process_time()
            started = time.monotonic()
            with grpc.insecure_channel(
                address, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)]
            ) as channel:
                result = run_sync(channel)
            wall = time.monotonic() - started
            driver_cpu = time.process_time() - driver_before
            cpu = cpu_seconds(server.pid) - cpu_before
            rss = peak_rss_mb(server.pid)
            stats = fake_stats(fake)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
            assert fake.stdin is not None
            fake.stdin.close()
            fake.wait(30)
    objects = len(result.resources) + len(result.entitlements) + len(result.grants)
    budget_per_second = math.floor(rate.limit * SHARE) / WINDOW
    requests = int(stats["requests"]) - int(before["requests"])
    by_route = {
        route: count - before["by_route"].get(route, 0)
        for route, count in stats["by_route"].items()
        if count > before["by_route"].get(route, 0)
    }
    return Row(
        case=case,
        size=size,
        rate=rate,
        requests=requests,
        bound=lower_bound(hello["counts"]),
        wall=wall,
        rate_bound=requests / budget_per_second,
        rate_limited=int(stats["rate_limited"]) - int(before["rate_limited"]),
        cpu=cpu,
        objects=objects,
        rss_mb=rss,
        by_route=by_route,
        driver_cpu=driver_cpu,
        peak_in_flight=int(stats["peak_in_flight"]),
        rpc={kind: RpcTimes.of(times) for kind, times in sorted(result.rpc_seconds.items())},
    )


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return (
        f"{model}, {os.cpu_count()} cores, {memory_kb / 1024**2:.0f} GiB RAM; "
        f"Python {platform.python_version()}; {platform.system()} {platform.release()}"
    )


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def targets(rows: list[Row]) -> str:
    """The targets of issues 4 and 14, each with the rows it is judged on and its verdict."""

    def verdict(name: str, judged: list[Row], ok: bool, figures: str) -> str:
        if not judged:
            return f"- {name}: not measured in this run"
        return f"- {name}: {'met' if ok else '**not met**'} ({figures})"

    dev_ml = [r for r in rows if r.rate.name == "development" and r.size.name in ("M", "L")]
    large = [r for r in rows if r.size.name == "L"]
    large_production = [r for r in large if r.rate.name == "production"]
    lines = [
        verdict(
            "requests <= 1.05 x bound, every size",
            rows,
            all(r.requests <= 1.05 * r.bound for r in rows),
            ", ".join(f"{r.case.label} {r.requests / r.bound:.3f}" for r in rows),
        ),
        verdict(
            "zero 429s with the default share",
            rows,
            all(r.rate_limited == 0 for r in rows),
            f"{sum(r.rate_limited for r in rows)} in all",
        ),
        verdict(
            "wall <= 1.15 x rate bound at M and L, development rate",
            dev_ml,
            all(r.wall <= 1.15 * r.rate_bound for r in dev_ml),
            ", ".join(f"{r.size.name} {r.wall / r.rate_bound:.2f}" for r in dev_ml),
        ),
        verdict(
            "wall <= 1.2 x rate bound at L, production rate (with and without latency)",
            large_production,
            all(r.wall <= 1.2 * r.rate_bound for r in large_production),
            ", ".join(f"{r.case.label} {r.wall / r.rate_bound:.2f}" for r in large_production),
        ),
        verdict(
            "server CPU <= 15 µs per emitted object (L)",
            large,
            all(r.cpu_us_per_object <= 15 for r in large),
            ", ".join(f"{r.case.label} {r.cpu_us_per_object:.1f} µs" for r in large),
        ),
        verdict(
            "server peak RSS <= 250 MB at L",
            large,
            all(r.rss_mb <= 250 for r in large),
            ", ".join(f"{r.case.label} {r.rss_mb:.0f} MB" for r in large),
        ),
    ]
    return "\n".join(lines)


RPC_HEADER = ["case", "RPC", "calls", "mean ms", "p95 ms", "total s"]


def rpc_table(rows: list[Row]) -> str:
    """The driver's view of each RPC kind: where a driver-bound sync spends its wall time."""
    lines = ["| " + " | ".join(RPC_HEADER) + " |", "|" + "---|" * len(RPC_HEADER)]
    for row in rows:
        for kind, times in row.rpc.items():
            cells = [
                row.case.label,
                kind,
                f"{times.count:,}",
                f"{times.mean_ms:.2f}",
                f"{times.p95_ms:.2f}",
                f"{times.total_s:.2f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(rows: list[Row]) -> str:
    routes = "\n".join(
        f"- {row.case.label}: "
        + ", ".join(f"{route} {count}" for route, count in sorted(row.by_route.items()))
        for row in rows
    )
    sizes = ", ".join(
        f"{s.name} = {s.users:,} users / {s.organizations:,} organizations / "
        f"{s.memberships:,} memberships"
        for s in SIZES.values()
    )
    return f"""# Benchmarks

Written by `make bench` (tests/bench) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.
Machine: {machine()}.

Each row is one full platform-style sync (Validate, ListResourceTypes, ListResources,
ListStaticEntitlements, ListEntitlements and ListGrants for every resource, Cleanup) over a real
gRPC channel to `clerk-connector serve`, which reads the bundled fake Clerk over real HTTP. The
fake runs in its own process with Clerk's rate limit on (development keys 100 requests / 10 s,
production 1000 / 10 s); the connector spends its default share of 0.5 of it.

- **requests / bound**: Clerk requests the fake received, against the fewest a full sync can
  make (sum of ceil(n/500) over users, organizations, memberships, roles, permissions, role sets).
- **wall / rate bound**: Validate to the end of Cleanup, against requests / the connector's
  budget (50 or 500 requests per 10 s). A sync can beat the rate bound by the first window's
  burst: the budget is a sliding window, so the first 50 (or 500) requests need not wait.
- **server CPU**: user + system CPU of the connector process during the sync (startup excluded),
  and per emitted object (resources + entitlements + grants); **peak RSS** is its VmHWM.

Sizes: {sizes}; 5 roles, 20 permissions and 2 role sets.

{table(rows)}

The driver's RPCs (count, mean and p95 per call as the driver saw it, and their sum):

{rpc_table(rows)}

Targets:
{targets(rows)}

Requests by route:
{routes}

{PREVIOUS}

Where the server's CPU goes now, and what remains: [profile.md](profile.md)
(`python -m tests.bench.serve_profile`).
"""


# The figures before the CPU work of issue 14 (the run of 2026-12-01 20:49 UTC, shared machine,
# load average about 2): kept here so every run prints them beside its own.
PREVIOUS = """## Before (pydantic models, protobuf built per message, fixed 4 reads in flight)

| size | rate | requests | bound | wall s | rate bound s | ratio | server CPU s | CPU µs/object \
| peak RSS MB |
|---|---|---|---|---|---|---|---|---|---|
| M | development | 90 | 87 | 17.7 | 18.0 | 0.99 | 5.82 | 75.9 | 105 |
| M | production | 90 | 87 | 8.2 | 1.8 | 4.54 | 6.00 | 78.3 | 108 |
| L | development | 830 | 825 | 203.0 | 166.0 | 1.22 | 54.58 | 71.3 | 223 |
| L | production | 830 | 825 | 69.6 | 16.6 | 4.19 | 52.06 | 68.0 | 216 |

An earlier run on an idle machine measured L at 31.3-34.0 s server CPU (40.9-44.4 µs/object)."""


def pin_others() -> None:
    """Keep this driver (and the fake Clerk it starts) off the server's core."""
    if PIN_SERVER:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)) - {SERVER_CPU})


def main() -> None:
    pin_others()
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--sizes", default="S,M,L", help="comma-separated: S, M, L")
    parser.add_argument("--rates", default="development,production")
    parser.add_argument(
        "--latency-ms", type=float, default=250.0, help="the latency scenario's delay (0: skip it)"
    )
    parser.add_argument(
        "--latency-sizes", default="L", help="sizes run again at the production rate with latency"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    sizes = [SIZES[name.strip()] for name in args.sizes.split(",")]
    rates = [RATES[name.strip()] for name in args.rates.split(",")]
    cases = [Case(size, rate) for size in sizes for rate in rates]
    if args.latency_ms > 0 and RATES["production"] in rates:
        latency_sizes = {name.strip() for name in args.latency_sizes.split(",")}
        cases += [
            Case(size, RATES["production"], args.latency_ms)
            for size in sizes
            if size.name in latency_sizes
        ]

    rows: list[Row] = []
    print("| " + " | ".join(HEADER) + " |", flush=True)
    with tempfile.TemporaryDirectory(prefix="clerk-bench-") as logs:
        for case in cases:
            row = run_case(case, Path(logs))
            rows.append(row)
            print("| " + " | ".join(row.cells()) + " |", flush=True)
    print(rpc_table(rows), flush=True)
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report(rows))
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
