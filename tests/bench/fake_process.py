"""The benchmark's fake Clerk, in its own process so its CPU and memory are not the server's.

Prints one JSON line (`url` and the dataset's counts), then answers each line read from stdin
with one JSON line of the fake's request statistics; exits when stdin closes.
"""

from __future__ import annotations

import argparse
import json
import sys

from connector.fake_clerk import FakeClerk, Latency, RateLimit, generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--organizations", type=int, required=True)
    parser.add_argument("--memberships", type=int, required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--rate-limit", type=int, required=True, help="requests per 10 s")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay on every response")
    args = parser.parse_args()

    data = generate(
        users=args.users, organizations=args.organizations, memberships=args.memberships, seed=1
    )
    limit = RateLimit(requests=args.rate_limit, per_seconds=10.0)
    latency = Latency(milliseconds=args.latency_ms) if args.latency_ms else None
    with FakeClerk(data, secret_key=args.secret_key, rate_limit=limit, latency=latency) as fake:
        fake.warm_cache()
        counts = {
            "users": len(data.users),
            "organizations": len(data.organizations),
            "memberships": len(data.memberships),
            "roles": len(data.roles),
            "permissions": len(data.permissions),
            "role_sets": len(data.role_sets),
        }
        print(json.dumps({"url": fake.url, "counts": counts}), flush=True)
        for _ in sys.stdin:
            stats = fake.stats.snapshot()
            print(
                json.dumps(
                    {
                        "requests": stats.total,
                        "rate_limited": stats.rate_limited,
                        "peak_in_flight": stats.peak_in_flight,
                        "by_route": stats.by_route,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
