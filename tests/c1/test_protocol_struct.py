"""`protocol.struct` sets Struct map entries directly (for speed); it must build exactly what
protobuf's own `Struct.update` builds, minus top-level None entries."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import struct_pb2
from hypothesis import given
from hypothesis import strategies as st

from connector.c1.protocol import struct

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def reference(mapping: dict[str, Any]) -> struct_pb2.Struct:
    expected = struct_pb2.Struct()
    expected.update({key: value for key, value in mapping.items() if value is not None})
    return expected


@given(st.dictionaries(st.text(max_size=12), values, max_size=8))
def test_struct_matches_protobuf_update(mapping: dict[str, Any]) -> None:
    assert struct(mapping) == reference(mapping)


def test_empty_list_and_map_are_kept_and_none_is_dropped() -> None:
    built = struct({"providers": [], "nested": {}, "gone": None, "flag": False})
    assert set(built.fields) == {"providers", "nested", "flag"}
    assert built.fields["providers"].WhichOneof("kind") == "list_value"
    assert built.fields["nested"].WhichOneof("kind") == "struct_value"
    assert built.fields["flag"].WhichOneof("kind") == "bool_value"


@pytest.mark.parametrize("number", [0, 1, -7, 2**40, 0.5])
def test_numbers_are_number_values(number: float) -> None:
    assert struct({"n": number}).fields["n"].number_value == number
