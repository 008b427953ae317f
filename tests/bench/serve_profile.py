"""Server CPU per emitted object, and where it goes: `python -m tests.bench.serve_profile`.

The connector runs in this process over a real loopback gRPC port; the fake Clerk (no rate
limit to speak of) and the platform-style driver (connector.platform.syncer.run_sync) each run
in a process of their own, so this process's CPU time during a sync is the server's alone
(gRPC's C threads included). Each repeat is a fresh connector and one full sync; the minimum
is reported, since the machine's cores are shared. A last, profiled sync gives a cProfile of
every server thread (handlers and background reads), merged, timed by each thread's CPU
clock so that waiting (for Clerk, for the next call) does not count.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO, Any

import grpc

from connector.c1.protocol import entitlement_grpc, entitlement_pb
from connector.logs import configure_logging
from connector.platform.syncer import run_sync
from connector.server.compose import Connector, build_connector, clerk_client
from connector.server.process import serving
from connector.settings import LogFormat, LogLevel, load_settings

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk_live_serve_profile_key_0000"
MAX_MESSAGE = 64 * 1024 * 1024


def start_fake(
    users: int, organizations: int, memberships: int
) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        "-m",
        "tests.bench.fake_process",
        f"--users={users}",
        f"--organizations={organizations}",
        f"--memberships={memberships}",
        f"--secret-key={KEY}",
        "--rate-limit=100000000",
    ]
    fake = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert fake.stdout is not None
    url: str = json.loads(fake.stdout.readline())["url"]
    return fake, url


def drive(address: str) -> None:
    """The driver process: one full sync, then its counts as one JSON line."""
    options = [("grpc.max_receive_message_length", MAX_MESSAGE)]
    with grpc.insecure_channel(address, options=options) as channel:
        result = run_sync(channel)
    objects = len(result.resources) + len(result.entitlements) + len(result.grants)
    print(json.dumps({"objects": objects, "grants": len(result.grants)}), flush=True)


def thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of each live thread of this process, by native id."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        found[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def by_thread_kind(before: dict[int, float], after: dict[int, float]) -> dict[str, float]:
    """CPU spent during the sync, grouped: gRPC handler threads, background reads, the rest
    (gRPC's own C threads, which Python does not know by name)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    kinds: dict[str, float] = {}
    for tid, seconds in after.items():
        name = names.get(tid, "")
        kind = (
            "rpc handlers"
            if name.startswith("ThreadPoolExecutor")
            else "background reads"
            if name.startswith("prefetch")
            else "gRPC core and other"
        )
        kinds[kind] = kinds.get(kind, 0.0) + seconds - before.get(tid, 0.0)
    return kinds


def drive_calls(address: str, calls: int) -> None:
    """The driver process of `--rpc-overhead`: `calls` trivial RPCs, one after another."""
    with grpc.insecure_channel(address) as channel:
        stub = entitlement_grpc.EntitlementsServiceStub(channel)
        request = entitlement_pb.EntitlementsServiceListStaticEntitlementsRequest(
            resource_type_id="user"
        )
        for _ in range(calls):
            stub.ListStaticEntitlements(request)


def rpc_overhead(calls: int) -> float:
    """Server CPU µs per RPC of one that does no work (ListStaticEntitlements: an empty
    answer, no Clerk request): gRPC's and the service wrapper's cost, paid per page."""
    settings = load_settings(clerk_secret_key=KEY, clerk_api_url="http://127.0.0.1:9")
    with (
        clerk_client(settings) as client,
        serving(build_connector(settings, client), "127.0.0.1:0") as running,
    ):
        command = [sys.executable, "-m", "tests.bench.serve_profile", "--drive", running.address]
        subprocess.run([*command, "--calls", "20"], cwd=ROOT, check=True)  # warm up
        cpu = time.process_time()
        subprocess.run([*command, "--calls", str(calls)], cwd=ROOT, check=True)
        return (time.process_time() - cpu) / calls * 1e6


class MethodClock:
    """CPU of the calling thread inside each RPC's handler (the service's `_run`), by method:
    thread time, so a handler waiting for Clerk or for a background read costs nothing."""

    def __init__(self, app: Connector) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        run = app.service._run

        def timed(method: str, context: grpc.ServicerContext, work: Callable[[], Any]) -> Any:
            started = time.thread_time()
            try:
                return run(method, context, work)
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    self.seconds[method] = self.seconds.get(method, 0.0) + spent
                    self.calls[method] = self.calls.get(method, 0) + 1

        app.service._run = timed  # type: ignore[method-assign]

    def summary(self) -> str:
        return ", ".join(
            f"{method} {seconds:.2f} s / {self.calls[method]:,} calls"
            for method, seconds in sorted(self.seconds.items(), key=lambda item: -item[1])
        )


def one_sync(url: str) -> tuple[float, float, dict[str, int], dict[str, float]]:
    """A fresh in-process connector and one driven sync: server CPU s, wall s, the driver's
    counts, and the CPU by kind of thread (the handlers' by method is printed)."""
    settings = load_settings(clerk_secret_key=KEY, clerk_api_url=url)
    with clerk_client(settings) as client:
        app = build_connector(settings, client)
        clock = MethodClock(app)
        with serving(app, "127.0.0.1:0") as running:
            gc.collect()
            gc.freeze()  # as `serve` does: start-up objects stay out of full collections
            cpu, wall, threads = time.process_time(), time.perf_counter(), thread_cpu()
            driver = subprocess.run(
                [sys.executable, "-m", "tests.bench.serve_profile", "--drive", running.address],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            kinds = by_thread_kind(threads, thread_cpu())
        gc.unfreeze()
    print(f"  handler CPU by method: {clock.summary()}", flush=True)
    counts: dict[str, int] = json.loads(driver.stdout.splitlines()[-1])
    return cpu, wall, counts, kinds


class _Snapshot:
    """A finished profile as pstats loads it (without disabling it from another thread)."""

    def __init__(self, profile: cProfile.Profile) -> None:
        profile.snapshot_stats()
        self.stats: Any = profile.stats

    def create_stats(self) -> None:
        pass


def profiled_sync(url: str, top: int, out: IO[str]) -> None:
    """One sync with every new thread profiled (threads start lazily, so all server ones)."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def begin(_frame: FrameType, _event: str, _arg: object) -> None:
        profile = cProfile.Profile(time.thread_time)  # CPU, not time spent waiting
        with lock:
            profiles.append(profile)
        profile.enable()  # replaces this hook in this thread

    threading.setprofile(begin)
    try:
        cpu, _, counts, _ = one_sync(url)
    finally:
        threading.setprofile(None)
    stats = pstats.Stats(*(_Snapshot(p) for p in profiles), stream=out)  # type: ignore[arg-type]
    print(
        f"\nprofiled sync ({len(profiles)} threads; {cpu:.2f} s CPU with the profiler on), "
        f"top {top} by own time:",
        file=out,
    )
    stats.sort_stats("tottime").print_stats(top)
    print(f"top {top} by cumulative time:", file=out)
    stats.sort_stats("cumulative").print_stats(top)
    del counts


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.serve_profile", description=__doc__
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--organizations", type=int, default=1_000)
    parser.add_argument("--memberships", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true", help="timed syncs only")
    parser.add_argument(
        "--rpc-overhead", type=int, metavar="N", help="only: server CPU per RPC over N calls"
    )
    parser.add_argument("--drive", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive_calls(args.drive, args.calls) if args.calls else drive(args.drive)
        return
    if args.rpc_overhead:
        with tempfile.TemporaryFile("w") as server_log:
            configure_logging(LogLevel.INFO, LogFormat.JSON, stream=server_log)
            for run in range(args.repeat):
                per_call = rpc_overhead(args.rpc_overhead)
                print(f"run {run + 1}: server CPU {per_call:.0f} µs per RPC", flush=True)
        return

    with tempfile.TemporaryFile("w") as server_log:
        # The server's log lines as `serve` writes them (JSON at INFO), kept off the terminal.
        configure_logging(LogLevel.INFO, LogFormat.JSON, stream=server_log)
        fake, url = start_fake(args.users, args.organizations, args.memberships)
        try:
            figures = []
            for run in range(args.repeat):
                cpu, wall, counts, kinds = one_sync(url)
                per_object = cpu / counts["objects"] * 1e6
                figures.append(per_object)
                split = ", ".join(f"{kind} {s:.2f} s" for kind, s in sorted(kinds.items()))
                print(
                    f"run {run + 1}: {counts['objects']:,} objects ({counts['grants']:,} grants), "
                    f"server CPU {cpu:.2f} s = {per_object:.1f} µs/object ({split}), "
                    f"wall {wall:.1f} s",
                    flush=True,
                )
            print(f"min server CPU: {min(figures):.1f} µs/object", flush=True)
            if not args.no_profile:
                text = io.StringIO()
                profiled_sync(url, args.top, text)
                print(text.getvalue())
        finally:
            assert fake.stdin is not None
            fake.stdin.close()
            fake.wait(30)


if __name__ == "__main__":
    main()
