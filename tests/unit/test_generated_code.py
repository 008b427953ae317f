"""The checked-in connector/pb must be exactly what `make proto` generates from proto/."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _files(root: Path) -> set[Path]:
    return {
        p.relative_to(root) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    out = tmp_path / "pb"
    subprocess.run(
        [sys.executable, str(ROOT / "proto" / "generate.py"), str(out)],
        check=True,
        capture_output=True,
    )
    checked_in = ROOT / "connector" / "pb"
    assert _files(out) == _files(checked_in), "run `make proto`: generated files differ"
    stale = [
        str(p)
        for p in sorted(_files(out))
        if not filecmp.cmp(out / p, checked_in / p, shallow=False)
    ]
    assert not stale, f"run `make proto`: stale generated code: {stale}"


def test_wire_numbers_match_the_contract() -> None:
    from connector.c1.protocol import connector_pb, entitlement_pb, grant_pb, resource_pb, traits

    def number(message: type, field: str) -> int:
        return int(message.DESCRIPTOR.fields_by_name[field].number)  # type: ignore[attr-defined]

    assert number(resource_pb.ResourcesServiceListResourcesRequest, "active_sync_id") == 6
    assert number(resource_pb.ResourcesServiceListResourcesRequest, "trait") == 7
    assert number(resource_pb.Resource, "created_at") == 12
    assert number(resource_pb.Resource, "profile") == 9
    assert number(entitlement_pb.Entitlement, "slug") == 8
    assert number(entitlement_pb.Entitlement, "purpose") == 7
    assert number(grant_pb.Grant, "sources") == 5
    assert number(grant_pb.GrantManagerServiceGrantResponse, "grants") == 2
    assert number(connector_pb.ConnectorServiceValidateResponse, "sdk_version") == 2
    assert number(connector_pb.ConnectorServiceCleanupRequest, "active_sync_id") == 2
    assert number(connector_pb.ResourceTypeCapability, "opt_in_required") == 4
    assert number(traits.UserTrait, "structured_name") == 12
    assert number(traits.UserTrait, "employee_ids") == 13
    assert connector_pb.CAPABILITY_CREDENTIAL_ISSUE == 14
    assert resource_pb.ResourceType.TRAIT_MANAGED_DEVICE == 12
    service = connector_pb.DESCRIPTOR.services_by_name["ConnectorService"]
    assert service.full_name == "c1.connector.v2.ConnectorService"
    assert [method.name for method in service.methods] == ["GetMetadata", "Validate", "Cleanup"]
    entitlements = entitlement_pb.DESCRIPTOR.services_by_name["EntitlementsService"]
    assert {m.name for m in entitlements.methods} == {"ListEntitlements", "ListStaticEntitlements"}
