"""connector/c1/wire.py against its slow twins: the bytes decode to the messages protobuf builds.

The builders' fast paths (users, organization entitlements and grants) are checked page by page
against their twins wherever tests/static_clerk.py runs them (the spec-driven property tests and
the builder tests); here are the pieces they are made of, and the service's pass-through.
"""

from __future__ import annotations

import grpc
from google.protobuf import struct_pb2, timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st

from connector.c1 import wire
from connector.c1.builders import Page, reference, reference_bytes
from connector.c1.protocol import (
    MAX_TIMESTAMP_MS,
    MIN_TIMESTAMP_MS,
    StructValue,
    entitlement_pb,
    grant_annotations,
    grant_pb,
    pack,
    resource_pb,
    struct,
)
from connector.c1.service import EncodedList, rpc_event, serialize
from tests.property.settings import PROPERTY
from tests.wire_agreement import assert_same

texts = st.text(max_size=20)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts
values: st.SearchStrategy[StructValue] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=12,
)


@given(st.dictionaries(texts, values, max_size=6))
@PROPERTY
def test_struct_bytes_decode_to_the_struct_protocol_builds(mapping: dict[str, StructValue]) -> None:
    assert_same(wire.struct(mapping), struct(mapping))


def test_struct_rules_none_dropped_at_the_top_null_below_huge_integers_as_digits() -> None:
    mapping: dict[str, StructValue] = {"gone": None, "nested": {"kept": None}, "big": 10**400}
    decoded = struct_pb2.Struct.FromString(wire.struct(mapping))
    assert "gone" not in decoded.fields
    assert decoded.fields["nested"].struct_value.fields["kept"].WhichOneof("kind") == "null_value"
    assert decoded.fields["big"].string_value == str(10**400)
    assert_same(wire.struct(mapping), struct(mapping))


@given(st.integers(MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS))
@PROPERTY
def test_timestamp_bytes_are_from_milliseconds(milliseconds: int) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromMilliseconds(milliseconds)
    holder = resource_pb.Resource(created_at=expected)
    assert_same(wire.timestamp_ms(wire.key(12), milliseconds), holder)


@given(st.integers(0, 2**64 - 1) | st.integers(-(2**63), -1))
@PROPERTY
def test_varints_of_every_width(number: int) -> None:
    unsigned = number % 2**64
    assert int.from_bytes(_varint_digits(wire.varint(number)), "big") == unsigned


def _varint_digits(data: bytes) -> bytes:
    """The varint's 7-bit groups, most significant first, as one big-endian integer's bytes."""
    value = 0
    for shift, byte in enumerate(data):
        value |= (byte & 0x7F) << (7 * shift)
        assert (byte & 0x80 == 0) == (shift == len(data) - 1)  # only the last lacks the flag
    return value.to_bytes(10, "big")


@given(texts, texts, texts)
@PROPERTY
def test_reference_bytes(type_id: str, object_id: str, name: str) -> None:
    assert_same(reference_bytes(type_id, object_id, name), reference(type_id, object_id, name))


def test_over_long_reference_names_are_cut_alike() -> None:
    name = "é" * 2000
    assert_same(reference_bytes("user", "u1", name), reference("user", "u1", name))


@given(st.dictionaries(texts, values, max_size=4), st.lists(texts, max_size=4), texts)
@PROPERTY
def test_list_answers_from_item_bytes(
    metadata: dict[str, StructValue], grant_ids: list[str], token: str
) -> None:
    grants = [
        grant_pb.Grant(
            id=grant_id,
            principal=reference("user", grant_id, grant_id),
            annotations=[pack(grant_annotations.GrantMetadata(metadata=struct(metadata)))],
        )
        for grant_id in grant_ids
    ]
    slow = grant_pb.GrantsServiceListGrantsResponse(list=grants, next_page_token=token)
    items = [grant.SerializeToString() for grant in grants]
    assert_same(wire.list_response(items, token), slow)
    any_bytes = wire.any_message(
        grant_annotations.GrantMetadata.DESCRIPTOR.full_name,
        grant_annotations.GrantMetadata(metadata=struct(metadata)).SerializeToString(),
    )
    holder = grant_pb.Grant(
        annotations=[pack(grant_annotations.GrantMetadata(metadata=struct(metadata)))]
    )
    assert_same(wire.message(wire.key(4), any_bytes), holder)


def test_an_encoded_answer_is_sent_as_it_is_and_counted_like_a_message() -> None:
    grant = grant_pb.Grant(
        id="g1",
        entitlement=entitlement_pb.Entitlement(resource=reference("organization", "org_1")),
        principal=reference("user", "u1"),
    )
    encoded = EncodedList.of(Page([grant.SerializeToString()] * 2, "next"), "grant", "organization")
    slow = grant_pb.GrantsServiceListGrantsResponse(list=[grant] * 2, next_page_token="next")
    assert_same(serialize(encoded), slow)
    assert serialize(slow) == slow.SerializeToString()
    fast_event = rpc_event("ListGrants", grpc.StatusCode.OK, 0.1, encoded)
    slow_event = rpc_event("ListGrants", grpc.StatusCode.OK, 0.1, slow)
    assert (
        (fast_event.items, fast_event.emitted)
        == (slow_event.items, slow_event.emitted)
        == (
            2,
            {("grant", "organization"): 2},
        )
    )
    empty = EncodedList.of(Page([]), "grant", "organization")
    assert rpc_event("ListGrants", grpc.StatusCode.OK, 0.1, empty).emitted == {}
