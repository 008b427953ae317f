"""The platform side's small rules: admin-level permissions, the readers' time format, the
Clerk routes progress attributes to types, CSV cells, the findings at their boundaries, and the
type names it reads agreeing with the ones the model writes."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from connector.pb.c1.connector.v2 import resource_pb2
from connector.platform.access import (
    Access,
    Membership,
    Organization,
    Role,
    User,
    is_admin_permission,
)
from connector.platform.c1z import format_time, parse_time
from connector.platform.findings import Thresholds, find_risks
from connector.platform.progress import SyncProgress, route_type
from connector.platform.report import _safe


@pytest.mark.parametrize(
    ("key", "admin"),
    [
        ("org:sys_memberships:manage", True),
        ("org:sys_profile:manage", True),
        ("org:sys_profile:delete", True),
        ("org:sys_domains:manage", True),
        ("org:sys_billing:manage", True),
        ("org:sys_memberships:read", False),
        ("org:sys_domains:read", False),
        ("org:invoices:manage", False),  # a custom permission: the instance decides what it means
        ("org:admin", False),
        ("sys_memberships:manage", False),
    ],
)
def test_admin_level_permissions(key: str, admin: bool) -> None:
    assert is_admin_permission(key) is admin


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2024, 5, 31, 12, 0, 0, tzinfo=UTC), "2024-05-31 12:00:00"),
        (datetime(2024, 5, 31, 12, 0, 0, 250_000, tzinfo=UTC), "2024-05-31 12:00:00.25"),
        (datetime(2024, 5, 31, 12, 0, 0, 123_456, tzinfo=UTC), "2024-05-31 12:00:00.123456"),
        (datetime(2024, 5, 31, 14, 0, tzinfo=UTC).astimezone(), "2024-05-31 14:00:00"),
    ],
)
def test_the_readers_datetime_text(moment: datetime, text: str) -> None:
    assert format_time(moment) == text
    assert parse_time(text) == moment


def test_nanoseconds_written_by_go_are_read() -> None:
    assert parse_time("2024-05-31 12:00:00.123456789") == datetime(
        2024, 5, 31, 12, 0, 0, 123_456, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("route", "type_id"),
    [
        ("/users", "user"),
        ("/users/count", "user"),
        ("/organizations", "organization"),
        ("/organizations/{organization_id}/memberships", "organization"),
        ("/organization_memberships", "organization"),
        ("/organization_roles", "organization_role"),
        ("/role_sets", "organization_role"),
        ("/instance/organization_settings", "organization_role"),
        ("/organization_permissions", "organization_permission"),
        ("/jwks", "other"),
        ("/usersx", "other"),
    ],
)
def test_clerk_routes_count_for_the_type_they_serve(route: str, type_id: str) -> None:
    assert route_type(route) == type_id


def test_progress_only_on_a_terminal_and_what_it_shows() -> None:
    assert SyncProgress.for_terminal(io.StringIO()) is None
    screen = io.StringIO()
    progress = SyncProgress(Console(file=screen, force_terminal=True, width=100))
    types = resource_pb2.ResourceTypesServiceListResourceTypesResponse(
        list=[resource_pb2.ResourceType(id="user"), resource_pb2.ResourceType(id="organization")]
    )
    progress.received("ListResourceTypes", None, types)
    page = resource_pb2.ResourcesServiceListResourcesResponse(
        list=[resource_pb2.Resource() for _ in range(1234)]
    )
    request = resource_pb2.ResourcesServiceListResourcesRequest(resource_type_id="user")
    progress.received("ListResources", request, page)
    progress.clerk_request("/users", 0.5)
    progress.clerk_request("/users/count", 1.25)
    progress.clerk_request("/organization_memberships", 0.0)
    Console(file=screen, force_terminal=True, width=100).print(progress.render())
    lines = [line.strip() for line in screen.getvalue().splitlines()]
    assert any(line.split() == ["user", "1,234", "0", "0", "2", "1.8", "s"] for line in lines)
    assert any(line.split() == ["organization", "0", "0", "0", "1", "0.0", "s"] for line in lines)
    assert "1 List calls" in screen.getvalue()


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("Ada = Lovelace", "Ada = Lovelace"),
        (3, "3"),
        (None, ""),
    ],
)
def test_csv_cells_never_start_a_formula(value: object, cell: str) -> None:
    assert _safe(value) == cell


AS_OF = datetime(2024, 6, 1, tzinfo=UTC)
ADMIN = Role("role_admin", "org:admin", "Admin", ("org:sys_memberships:manage",))
MEMBER = Role("role_member", "org:member", "Member", ("org:sys_memberships:read",))


def _user(user_id: str, *, days: int | None, enabled: bool = True, mfa: bool = False) -> User:
    last = None if days is None else AS_OF - timedelta(days=days, hours=1)
    status = "enabled" if enabled else "banned"
    return User(user_id, user_id.title(), "", enabled, status, mfa, False, last, None)


def test_stale_means_more_than_n_days_and_never_counts() -> None:
    access = Access(
        users={
            "at": _user("at", days=89, mfa=True),  # 89 days and an hour: not past 90
            "past": _user("past", days=91, mfa=True),
            "never": _user("never", days=None, mfa=True),
        },
        organizations={"o": Organization("o", "Org", "org")},
        roles={ADMIN.id: ADMIN},
        memberships=[
            Membership("o", uid, f"m_{uid}", "org:admin", ADMIN) for uid in ("at", "past", "never")
        ],
    )
    (stale,) = [f for f in find_risks(access, Thresholds(as_of=AS_OF)) if f.id == "stale_admins"]
    assert [(row.user_id, row.detail) for row in stale.rows] == [
        ("never", "never signed in"),
        ("past", "last signed in 2024-03-01 (91 days ago)"),
    ]


def test_an_organization_whose_only_admin_is_disabled_has_no_admin() -> None:
    access = Access(
        users={"a": _user("a", days=1, enabled=False), "b": _user("b", days=1)},
        organizations={"o": Organization("o", "Org", "org"), "p": Organization("p", "Other", "")},
        roles={ADMIN.id: ADMIN, MEMBER.id: MEMBER},
        memberships=[
            Membership("o", "a", "m1", "org:admin", ADMIN),
            Membership("o", "b", "m2", "org:member", MEMBER),
            Membership("p", "b", "m3", "org:admin", ADMIN),
        ],
    )
    (orphans,) = [
        f
        for f in find_risks(access, Thresholds(as_of=AS_OF))
        if f.id == "organizations_without_admin"
    ]
    assert [(row.organization, row.detail) for row in orphans.rows] == [
        ("Org", "2 members; every admin-level member is disabled: A (banned)")
    ]


def test_the_platform_reads_the_type_names_the_model_writes() -> None:
    from connector.model import types
    from connector.platform import schema

    names = ("USER", "ORGANIZATION", "ORGANIZATION_ROLE", "ORGANIZATION_PERMISSION")
    for name in (*names, "MEMBER_SLUG", "GRANTED_SLUG"):
        assert getattr(schema, name) == getattr(types, name), name
