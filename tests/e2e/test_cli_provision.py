"""`clerk-connector grant` and `revoke` as an operator runs them: real processes against the fake
Clerk over HTTP, a canary key that must appear in nothing they print."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from connector.fake_clerk import FakeClerk, demo
from tests.e2e.test_cli import CLI, env_for

CANARY = "sk_test_CANARY_provision_51d2e8a4"
ON = {"CONNECTOR_PROVISIONING": "true"}
POST = "POST /organizations/{id}/memberships"
DELETE = "DELETE /organizations/{id}/memberships/{id}"


@pytest.fixture
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(demo(), secret_key=CANARY) as running:
        yield running


def run(fake: FakeClerk, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = env_for(None, **env)
    environment.update(CLERK_SECRET_KEY=CANARY, CLERK_API_URL=fake.url)
    done = subprocess.run(
        [*CLI, *args], env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert CANARY not in done.stdout
    assert CANARY not in done.stderr
    return done


def test_dry_run_prints_the_write_and_changes_nothing(fake: FakeClerk) -> None:
    args = (
        "--entitlement",
        "organization:org_demo_kernel:member",
        "--principal",
        "user:user_demo_ada",
    )
    done = run(fake, "grant", *args, "--dry-run")  # no setting needed to look
    assert done.returncode == 0, done.stderr
    assert (
        "would send POST /organizations/org_demo_kernel/memberships user_id=user_demo_ada "
        "role=org:member" in done.stdout
    )
    assert fake.stats.applied_writes == {}
    assert fake.stats.writes == {}


def test_grant_needs_the_setting_then_applies_once(fake: FakeClerk) -> None:
    args = (
        "--entitlement",
        "organization:org_demo_kernel:member",
        "--principal",
        "user:user_demo_ada",
    )
    refused = run(fake, "grant", *args)
    assert refused.returncode == 2
    assert "CONNECTOR_PROVISIONING" in refused.stderr
    assert fake.stats.writes == {}

    done = run(fake, "grant", *args, **ON)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "granted"
    assert "in force: organization:org_demo_kernel:member:user:user_demo_ada" in done.stdout
    assert (
        "in force: organization:org_demo_kernel:role_demo_member:user:user_demo_ada" in done.stdout
    )
    again = run(fake, "grant", *args, **ON)
    assert again.stdout.startswith("already granted: nothing changed")
    assert fake.stats.applied_writes == {POST: 1}


def test_revoke_by_grant_id_and_a_refusal_exits_1_with_the_reason(fake: FakeClerk) -> None:
    grace = "organization:org_demo_apollo:member:user:user_demo_grace"
    dry = run(fake, "revoke", "--grant", grace, "--dry-run")
    assert (
        "would send DELETE /organizations/org_demo_apollo/memberships/user_demo_grace" in dry.stdout
    )
    done = run(fake, "revoke", "--grant", grace, **ON)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "revoked"
    assert run(fake, "revoke", "--grant", grace, **ON).stdout.strip() == (
        "already revoked: nothing changed"
    )
    # Margaret is Apollo's only admin.
    last = run(
        fake,
        "revoke",
        "--grant",
        "organization:org_demo_apollo:member:user:user_demo_margaret",
        **ON,
    )
    assert last.returncode == 1
    assert "failed: FAILED_PRECONDITION" in last.stderr
    assert "last member" in last.stderr
    assert fake.stats.applied_writes == {DELETE: 1}


@pytest.mark.parametrize(
    "args",
    [
        ("grant", "--entitlement", "organization-only", "--principal", "user:user_demo_ada"),
        ("grant", "--entitlement", "organization:org_demo_kernel:member", "--principal", "ada"),
        ("revoke", "--grant", "organization:org_demo_kernel"),
    ],
)
def test_malformed_ids_exit_2_naming_the_flag(fake: FakeClerk, args: tuple[str, ...]) -> None:
    done = run(fake, *args, **ON)
    assert done.returncode == 2
    assert "--" in done.stderr
    assert fake.stats.writes == {}
