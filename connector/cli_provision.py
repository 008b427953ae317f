"""`clerk-connector grant` and `revoke`: one provisioning call without a platform.

They run the same code the gRPC Grant and Revoke run (the c1 service's handlers, audited the
same way), in-process, and need `CONNECTOR_PROVISIONING=true` like them. `--dry-run` reads
Clerk, prints the one write the call would make, and changes nothing (no setting needed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from connector.c1 import ids
from connector.c1.errors import c1_failure
from connector.c1.protocol import entitlement_pb, grant_annotations, grant_pb, resource_pb
from connector.logs import configure_logging, redact
from connector.model import types
from connector.model.provisioning import MembershipChange, MembershipProvisioner
from connector.server.compose import Connector, build_connector, clerk_client
from connector.server.errors import failure_for
from connector.settings import SettingsError, load_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def add_provisioning_commands(commands: Any) -> None:
    grant = commands.add_parser(
        "grant", help="make a user hold an organization entitlement (a membership or a role)"
    )
    grant.add_argument(
        "--entitlement",
        required=True,
        metavar="ID",
        help="e.g. organization:org_1:member or organization:org_1:rol_admin",
    )
    grant.add_argument("--principal", required=True, metavar="user:ID", help="e.g. user:user_1")
    grant.add_argument("--dry-run", action="store_true", help="print the change, make none")
    grant.set_defaults(run=run_grant)

    revoke = commands.add_parser("revoke", help="remove a grant (a membership or a role)")
    revoke.add_argument(
        "--grant",
        required=True,
        metavar="ID",
        help="e.g. organization:org_1:member:user:user_1",
    )
    revoke.add_argument("--dry-run", action="store_true", help="print the change, make none")
    revoke.set_defaults(run=run_revoke)


def run_grant(args: argparse.Namespace) -> int:
    try:
        entitlement = entitlement_from_id(args.entitlement)
        principal = principal_from_label(args.principal)
    except ValueError as exc:
        return _usage(str(exc))
    request = grant_pb.GrantManagerServiceGrantRequest(entitlement=entitlement, principal=principal)
    return _run(
        args.dry_run,
        plan=lambda p, connector: p.plan_grant(
            connector.service.context(""), entitlement, principal
        ),
        apply=lambda connector: _granted(connector.service.grant(request)),
    )


def run_revoke(args: argparse.Namespace) -> int:
    try:
        grant = grant_from_id(args.grant)
    except ValueError as exc:
        return _usage(str(exc))
    request = grant_pb.GrantManagerServiceRevokeRequest(grant=grant)
    return _run(
        args.dry_run,
        plan=lambda p, connector: p.plan_revoke(connector.service.context(""), grant),
        apply=lambda connector: _revoked(connector.service.revoke(request)),
    )


# The dry run's read (the provisioner and the composed connector -> the one change), and the
# call itself (-> the lines to print).
Plan = Callable[[MembershipProvisioner, Connector], MembershipChange]
Apply = Callable[[Connector], str]


def _run(dry_run: bool, *, plan: Plan, apply: Apply) -> int:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, stream=sys.stderr)
    if not dry_run and not settings.provisioning:
        raise SettingsError(
            "CONNECTOR_PROVISIONING is false: set it to true to change memberships in Clerk "
            "(or pass --dry-run to see the change)"
        )
    with clerk_client(settings) as client:
        connector = build_connector(settings, client)
        try:
            if dry_run:
                provisioner = _provisioner(connector)
                print(_describe_plan(plan(provisioner, connector)))
            else:
                print(apply(connector))
        except Exception as exc:
            known = failure_for(exc) or c1_failure(exc)
            if known is None:
                raise
            print(f"failed: {known.code.name}: {redact(known.message)}", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK


def _provisioner(connector: Connector) -> MembershipProvisioner:
    builder = connector.service.syncers.get(types.ORGANIZATION)
    provisioner = getattr(builder, "provisioner", None)
    if not isinstance(provisioner, MembershipProvisioner):
        raise SettingsError("CONNECTOR_SYNC_ORGANIZATIONS is false: organizations are not served")
    return provisioner


def _describe_plan(change: MembershipChange) -> str:
    if change.kind == "none":
        return "dry run: nothing to change in Clerk (already in that state)"
    replaced = "".join(f"\n  replaces grant {grant_id}" for grant_id in change.replaced_grant_ids)
    return f"dry run: would send {change.describe()}{replaced}"


def _granted(answer: Message) -> str:
    assert isinstance(answer, grant_pb.GrantManagerServiceGrantResponse)
    already = any(a.Is(grant_annotations.GrantAlreadyExists.DESCRIPTOR) for a in answer.annotations)
    lines = ["already granted: nothing changed" if already else "granted"]
    for annotation in answer.annotations:
        replaced = grant_annotations.GrantReplaced()
        if annotation.Unpack(replaced):
            lines.append(f"  replaced grant {replaced.replaced_grant_id}")
    lines += [f"  in force: {grant.id}" for grant in answer.grants]
    return "\n".join(lines)


def _revoked(answer: Message) -> str:
    assert isinstance(answer, grant_pb.GrantManagerServiceRevokeResponse)
    already = any(
        a.Is(grant_annotations.GrantAlreadyRevoked.DESCRIPTOR) for a in answer.annotations
    )
    return "already revoked: nothing changed" if already else "revoked"


def entitlement_from_id(entitlement_id: str) -> entitlement_pb.Entitlement:
    """The entitlement an id `{type}:{resource}:{slug}` names (ids of Clerk objects hold no ':')."""
    parts = entitlement_id.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"--entitlement {entitlement_id!r} is not TYPE:RESOURCE:SLUG")
    type_id, resource, slug = parts
    if ids.entitlement_id(type_id, resource, slug) != entitlement_id:
        raise ValueError(f"--entitlement {entitlement_id!r} is not TYPE:RESOURCE:SLUG")
    return entitlement_pb.Entitlement(
        id=entitlement_id,
        resource=resource_pb.Resource(
            id=resource_pb.ResourceId(resource_type=type_id, resource=resource)
        ),
        slug=slug,
    )


def principal_from_label(label: str) -> resource_pb.Resource:
    type_id, _, resource = label.partition(":")
    if not type_id or not resource:
        raise ValueError(f"--principal {label!r} is not TYPE:ID (e.g. user:user_1)")
    return resource_pb.Resource(id=resource_pb.ResourceId(resource_type=type_id, resource=resource))


def grant_from_id(grant_id: str) -> grant_pb.Grant:
    """The grant an id `{entitlement id}:{principal type}:{principal id}` names."""
    entitlement_id, _, principal = grant_id.rpartition(":")
    entitlement_id, _, principal_type = entitlement_id.rpartition(":")
    if not entitlement_id or not principal_type or not principal:
        raise ValueError(f"--grant {grant_id!r} is not ENTITLEMENT_ID:TYPE:ID")
    try:
        entitlement = entitlement_from_id(entitlement_id)
    except ValueError:
        raise ValueError(f"--grant {grant_id!r} does not start with an entitlement id") from None
    return grant_pb.Grant(
        id=grant_id,
        entitlement=entitlement,
        principal=principal_from_label(f"{principal_type}:{principal}"),
    )


def _usage(message: str) -> int:
    print(f"clerk-connector: {message}", file=sys.stderr)
    return EXIT_USAGE
