"""`clerk-connector demo`: the whole product on one machine, no Clerk account needed.

Starts the bundled fake Clerk with a small story, serves it over gRPC on loopback, runs a
platform-style sync against that server, prints who holds which role in which organization,
and ends with the access report's risk findings and the path of its HTML page.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import grpc

from connector.fake_clerk import FakeClerk
from connector.fake_clerk import data as datasets
from connector.logs import configure_logging
from connector.model import types
from connector.platform.findings import Thresholds
from connector.platform.report import build_report, write_report
from connector.platform.syncer import SyncResult, run_sync
from connector.platform.syncfile import format_for, load_sync_file, write_sync_file
from connector.server.process import in_process_server
from connector.settings import LogFormat, LogLevel, load_settings


def run_demo(output: Path, report_dir: Path) -> int:
    configure_logging(LogLevel.WARNING, LogFormat.CONSOLE)
    key = f"sk_test_demo_{secrets.token_hex(8)}"
    with FakeClerk(datasets.demo(), secret_key=key) as fake:
        # The demo's own key and fake Clerk: whatever key the environment names is not used.
        settings = load_settings(
            CLERK_SECRET_KEY=key,
            CLERK_SECRET_KEY_FILE=None,
            CLERK_API_URL=fake.url,
            CONNECTOR_LOG_LEVEL="warning",
        )
        with in_process_server(settings) as running:
            print(
                f"fake Clerk at {fake.url}; connector serving c1.connector.v2 at {running.address}"
            )
            started = datetime.now(UTC)
            with grpc.insecure_channel(running.address) as channel:
                result = run_sync(channel)
    ended = datetime.now(UTC)
    write_sync_file(output, result, format_for(output), started_at=started, ended_at=ended)
    print(render_summary(result))
    print(f"\nfull sync output written to {output}")
    # What a reviewer reads next: the report, from the file just written.
    report = build_report(load_sync_file(output), Thresholds(as_of=ended))
    page = write_report(report, report_dir)
    print(f"\n{report.summary()}")
    print(f"\naccess report: {page.resolve()}")
    return 0


def render_summary(result: SyncResult) -> str:
    """Who holds which role in which organization, from the grants a sync received."""
    names = {(r.id.resource_type, r.id.resource): r.display_name for r in result.resources}
    for res in result.resources:
        if res.status.details:  # banned, locked, deprovisioned: reviewers want to see it
            key = (res.id.resource_type, res.id.resource)
            names[key] = f"{names[key]} [{res.status.details}]"
    roles: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    unresolved = result.unresolved_memberships()
    for item in result.grants:
        owner = item.entitlement.resource.id
        if owner.resource_type != types.ORGANIZATION:
            continue
        user = item.principal.id.resource
        members = roles[owner.resource]
        if item.entitlement.slug == types.MEMBER_SLUG:
            members.setdefault(user, [])
        else:
            # Role entitlements read "{organization} {role}"; under the organization's
            # heading the role name is enough.
            org_name = item.entitlement.resource.display_name
            members[user].append(item.entitlement.display_name.removeprefix(f"{org_name} "))

    lines = ["", "Who holds which role in which organization:"]
    for org_id in sorted(roles, key=lambda oid: names.get((types.ORGANIZATION, oid), oid)):
        lines.append(f"\n  {names.get((types.ORGANIZATION, org_id), org_id)}")
        members = roles[org_id]
        for user in sorted(members, key=lambda uid: names.get((types.USER, uid), uid)):
            held = ", ".join(sorted(members[user]))
            if (org_id, user) in unresolved:
                held = f"member (role key {unresolved[(org_id, user)]!r} matches no role)"
            lines.append(f"    {names.get((types.USER, user), user):<28} {held or 'member'}")
    counts = result.counts()
    lines.append("\nObjects received:")
    for type_id, row in counts.items():
        lines.append(
            f"  {type_id:<24} {row['resources']:>5} resources {row['entitlements']:>5} "
            f"entitlements {row['grants']:>5} grants"
        )
    return "\n".join(lines)
