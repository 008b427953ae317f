"""The validation-rule checker: valid messages pass, and each rule, broken alone, is reported."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from google.protobuf import any_pb2

from connector.c1.protocol import entitlement_pb, grant_pb, pack, resource_pb, traits
from connector.c1.rules import is_email_address, violations

Breaker = Callable[[grant_pb.Grant], None]


def valid_user() -> resource_pb.Resource:
    trait = traits.UserTrait(
        account_type=traits.UserTrait.ACCOUNT_TYPE_HUMAN,
        status=traits.UserTrait.Status(status=traits.UserTrait.Status.STATUS_ENABLED),
    )
    trait.emails.add(address="ada@example.com", is_primary=True)
    trait.emails.add(address="ada.l@example.org", is_primary=False)
    trait.created_at.FromMilliseconds(1_700_000_000_000)
    user = resource_pb.Resource(
        id=resource_pb.ResourceId(resource_type="user", resource="user_1"),
        display_name="Ada",
        annotations=[pack(trait)],
    )
    user.status.status = resource_pb.Resource.Status.STATUS_ENABLED
    user.created_at.FromMilliseconds(1_700_000_000_000)
    return user


def user_type() -> resource_pb.ResourceType:
    return resource_pb.ResourceType(
        id="user", display_name="User", traits=[resource_pb.ResourceType.TRAIT_USER]
    )


def valid_grant() -> grant_pb.Grant:
    org = resource_pb.Resource(
        id=resource_pb.ResourceId(resource_type="organization", resource="org_1"),
        display_name="Acme",
    )
    granted = entitlement_pb.Entitlement(
        resource=org,
        id="organization:org_1:member",
        display_name="Acme member",
        purpose=entitlement_pb.Entitlement.PURPOSE_VALUE_ASSIGNMENT,
        grantable_to=[user_type()],
        slug="member",
    )
    return grant_pb.Grant(
        id="organization:org_1:member:user:user_1", entitlement=granted, principal=valid_user()
    )


def user_trait(item: grant_pb.Grant) -> traits.UserTrait:
    trait = traits.UserTrait()
    item.principal.annotations[0].Unpack(trait)
    return trait


def edit_trait(edit: Callable[[traits.UserTrait], None]) -> Breaker:
    def breaker(item: grant_pb.Grant) -> None:
        trait = user_trait(item)
        edit(trait)
        item.principal.annotations[0].Pack(trait)

    return breaker


def test_valid_messages_have_no_violations() -> None:
    item = valid_grant()
    assert violations(item) == []
    assert violations(item.entitlement) == []
    assert violations(item.principal) == []
    assert violations(user_type()) == []


def test_limits_are_bytes_not_characters() -> None:
    item = valid_grant()
    item.principal.display_name = "é" * 512  # 1024 bytes: the limit, allowed
    assert violations(item) == []
    item.principal.display_name = "é" * 513
    assert violations(item) == ["Grant.principal.display_name: 1026 bytes, at most 1024"]


def _set(path: str, value: object) -> Breaker:
    def breaker(item: grant_pb.Grant) -> None:
        *parents, name = path.split(".")
        target: object = item
        for parent in parents:
            target = getattr(target, parent)
        setattr(target, name, value)

    return breaker


def _clear(path: str) -> Breaker:
    def breaker(item: grant_pb.Grant) -> None:
        *parents, name = path.split(".")
        target: object = item
        for parent in parents:
            target = getattr(target, parent)
        target.ClearField(name)  # type: ignore[attr-defined]

    return breaker


def _second_primary(trait: traits.UserTrait) -> None:
    trait.emails[1].is_primary = True


def _bad_address(trait: traits.UserTrait) -> None:
    trait.emails[1].address = "Ada <ada@example.com>"


def _old_timestamp(trait: traits.UserTrait) -> None:
    trait.last_login.seconds = -62_135_596_801


def _late_timestamp(trait: traits.UserTrait) -> None:
    trait.created_at.seconds = 253_402_300_800


def _bad_nanos(trait: traits.UserTrait) -> None:
    trait.created_at.nanos = -1


def _account_type(trait: traits.UserTrait) -> None:
    trait.account_type = 9  # type: ignore[assignment]


def _trait_status(trait: traits.UserTrait) -> None:
    trait.status.status = 7  # type: ignore[assignment]


def _trait_details(trait: traits.UserTrait) -> None:
    trait.status.details = "x" * 1025


def _duplicate_trait(item: grant_pb.Grant) -> None:
    item.entitlement.grantable_to[0].traits.append(resource_pb.ResourceType.TRAIT_USER)


def _undefined_trait(item: grant_pb.Grant) -> None:
    item.entitlement.grantable_to[0].traits.append(99)  # type: ignore[arg-type]


def _long_type_description(item: grant_pb.Grant) -> None:
    item.entitlement.grantable_to[0].description = "d" * 4097


def _empty_type_id(item: grant_pb.Grant) -> None:
    item.entitlement.grantable_to[0].id = ""


def _garbled_annotation(item: grant_pb.Grant) -> None:
    item.principal.annotations.append(
        any_pb2.Any(type_url="type.googleapis.com/c1.connector.v2.UserTrait", value=b"\xff\xff")
    )


P = "Grant.principal"
T = f"{P}.annotations[0]<UserTrait>"
TYPE = "Grant.entitlement.grantable_to[0]"


@pytest.mark.parametrize(
    ("breaker", "expected"),
    [
        (_set("id", ""), "Grant.id: empty, must be 1-1024 bytes"),
        (_set("id", "g" * 1025), "Grant.id: 1025 bytes, at most 1024"),
        (_clear("entitlement"), "Grant.entitlement: required"),
        (_clear("principal"), "Grant.principal: required"),
        (_set("entitlement.id", ""), "Grant.entitlement.id: empty, must be 1-1024 bytes"),
        (
            _set("entitlement.display_name", "n" * 1025),
            "Grant.entitlement.display_name: 1025 bytes, at most 1024",
        ),
        (
            _set("entitlement.description", "d" * 2049),
            "Grant.entitlement.description: 2049 bytes, at most 2048",
        ),
        (
            _set("entitlement.purpose", 4),
            "Grant.entitlement.purpose: 4 is not a defined PurposeValue",
        ),
        (_clear("entitlement.resource"), "Grant.entitlement.resource: required"),
        (
            _set("entitlement.resource.display_name", "n" * 1025),
            "Grant.entitlement.resource.display_name: 1025 bytes, at most 1024",
        ),
        (_clear("principal.id"), f"{P}.id: required"),
        (
            _set("principal.id.resource", ""),
            f"{P}.id.resource: empty, must be 1-1024 bytes",
        ),
        (
            _set("principal.id.resource_type", "t" * 1025),
            f"{P}.id.resource_type: 1025 bytes, at most 1024",
        ),
        (
            _set("principal.description", "d" * 2049),
            f"{P}.description: 2049 bytes, at most 2048",
        ),
        (_set("principal.status.status", 5), f"{P}.status.status: 5 is not a defined Status"),
        (
            _set("principal.status.details", "x" * 1025),
            f"{P}.status.details: 1025 bytes, at most 1024",
        ),
        (
            _set("principal.created_at.seconds", 253_402_300_800),
            f"{P}.created_at: seconds 253402300800 outside 0001-01-01 .. 9999-12-31",
        ),
        (edit_trait(_second_primary), f"{T}.emails: 2 marked primary, at most one"),
        (edit_trait(_bad_address), f"{T}.emails[1].address: not a valid email address"),
        (
            edit_trait(_old_timestamp),
            f"{T}.last_login: seconds -62135596801 outside 0001-01-01 .. 9999-12-31",
        ),
        (
            edit_trait(_late_timestamp),
            f"{T}.created_at: seconds 253402300800 outside 0001-01-01 .. 9999-12-31",
        ),
        (edit_trait(_bad_nanos), f"{T}.created_at: nanos -1 outside 0..999999999"),
        (edit_trait(_account_type), f"{T}.account_type: 9 is not a defined AccountType"),
        (edit_trait(_trait_status), f"{T}.status.status: 7 is not a defined Status"),
        (edit_trait(_trait_details), f"{T}.status.details: 1025 bytes, at most 1024"),
        (_duplicate_trait, f"{TYPE}.traits: not unique"),
        (_undefined_trait, f"{TYPE}.traits: 99 is not a defined Trait"),
        (_long_type_description, f"{TYPE}.description: 4097 bytes, at most 4096"),
        (_empty_type_id, f"{TYPE}.id: empty, must be 1-1024 bytes"),
        (_garbled_annotation, f"{P}.annotations[1]: does not decode as c1.connector.v2.UserTrait"),
    ],
)
def test_each_rule_is_caught(breaker: Breaker, expected: str) -> None:
    item = valid_grant()
    breaker(item)
    assert violations(item) == [expected]


def test_resource_type_rules_on_a_resource_type_itself() -> None:
    bad = resource_pb.ResourceType(id="", display_name="n" * 1025)
    assert violations(bad) == [
        "ResourceType.id: empty, must be 1-1024 bytes",
        "ResourceType.display_name: 1025 bytes, at most 1024",
    ]


def test_annotations_of_unknown_types_are_skipped() -> None:
    user = valid_user()
    user.annotations.append(any_pb2.Any(type_url="type.googleapis.com/x.Unknown", value=b"\xff"))
    assert violations(user) == []


@pytest.mark.parametrize(
    "address",
    [
        "ada@example.com",
        "a.b+tag@sub.example.co",
        "o'brien@example.ie",
        '"ada lovelace"@example.com',
        "zoë@example.com",  # UTF-8 local part (RFC 6532)
        "ada@xn--bcher-kva.example",
        "ada@localhost",
        "ada@example.com.",
        f"{'l' * 64}@example.com",
    ],
)
def test_valid_addresses(address: str) -> None:
    assert is_email_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "ada",
        "@example.com",
        "ada@",
        "ada@@example.com",
        "ada..l@example.com",
        ".ada@example.com",
        "ada.@example.com",
        "Ada <ada@example.com>",
        " ada@example.com",
        "ada@example.com ",
        "ada lovelace@example.com",
        "ada@exa mple.com",
        "ada@-example.com",
        "ada@example-.com",
        "ada@exa_mple.com",
        "ada@example..com",
        "ada@[192.0.2.1]",
        "ada@bücher.example",  # a U-label: the platform wants the xn-- form
        f"{'l' * 65}@example.com",
        f"ada@{'a' * 64}.com",
        f"ada@{'a.' * 130}com",
    ],
)
def test_invalid_addresses(address: str) -> None:
    assert not is_email_address(address)
