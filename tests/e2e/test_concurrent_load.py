"""Several platform clients at once against one connector, with Validate calls in between:
each sync gets exactly its data, and after their Cleanup the connector holds nothing of them.

Memory is measured with tracemalloc (Python allocations, exact), not RSS, which the allocator
does not hand back to the system and so cannot show a return to baseline.
"""

from __future__ import annotations

import gc
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import grpc

from connector.c1.protocol import connector_grpc, connector_pb
from connector.fake_clerk import FakeClerk, generate
from connector.platform.syncer import run_sync
from tests.e2e.harness import TEST_KEY, Connected, connector_for, expected_ids

CLIENTS = 4


def validate_until(conn: Connected, done: threading.Event) -> int:
    stub = connector_grpc.ConnectorServiceStub(conn.channel)
    calls = 0
    while not done.is_set():
        stub.Validate(connector_pb.ConnectorServiceValidateRequest(), timeout=10)
        calls += 1
    return calls


def sync_grant_ids(channel: grpc.Channel) -> tuple[int, set[str]]:
    result = run_sync(channel)
    grants = [g.id for g in result.grants]
    return len(grants), set(grants)


def test_concurrent_clients_get_isolated_exact_results_and_memory_returns() -> None:
    data = generate(users=1500, organizations=120, memberships=4000, seed=8)
    expected = expected_ids(data).grants
    with FakeClerk(data, secret_key=TEST_KEY) as fake, connector_for(fake) as conn:
        run_sync(conn.channel)  # warm-up: imports, schemas, connection pools
        gc.collect()
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            done = threading.Event()
            with ThreadPoolExecutor(CLIENTS + 1) as pool:
                validating = pool.submit(validate_until, conn, done)
                syncs = [pool.submit(sync_grant_ids, conn.channel) for _ in range(CLIENTS)]
                results = [future.result(timeout=120) for future in syncs]
                done.set()
                validations = validating.result(timeout=30)
            peak = tracemalloc.get_traced_memory()[1]
            # Compare now, then drop the driver's copies so only the connector's memory counts.
            outcomes = [(count, grants == expected) for count, grants in results]
            del results, syncs
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert conn.app.cache.active_syncs() == 0
    assert validations > 0
    assert outcomes == [(len(expected), True)] * CLIENTS
    # The syncs took megabytes (memberships, grant pages, the driver's copies); after their
    # Cleanup the connector is back to within a small margin of where it started.
    assert peak - baseline > 5_000_000
    assert after - baseline < 600_000, f"{after - baseline} bytes still held after Cleanup"
