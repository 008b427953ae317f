"""Cutting text to the platform's byte limits and leaving out timestamps protobuf cannot hold."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.protobuf import timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from connector.c1.protocol import (
    MAX_TIMESTAMP_MS,
    MIN_TIMESTAMP_MS,
    adjustments,
    clip,
    clip_utf8,
    reset_adjustments,
    set_timestamp_ms,
    struct,
    timestamp_ms,
)
from tests.property.settings import PROPERTY


@pytest.fixture(autouse=True)
def fresh_adjustments() -> Iterator[None]:
    reset_adjustments()
    yield
    reset_adjustments()


@given(st.text(), st.integers(0, 64))
@PROPERTY
def test_clip_utf8_is_the_longest_whole_character_prefix(text: str, most: int) -> None:
    clipped = clip_utf8(text, most)
    size = len(clipped.encode("utf-8"))
    assert size <= most
    assert text.startswith(clipped)
    if clipped != text:  # one more character would not have fitted
        assert size + len(text[len(clipped)].encode("utf-8")) > most


def test_clip_cuts_multibyte_text_at_a_character_boundary() -> None:
    assert clip_utf8("é" * 901, 1024) == "é" * 512  # 1,802 bytes -> 1,024
    assert clip_utf8("aé" * 2, 4) == "aé" + "a"
    assert clip_utf8("🦄🦄", 7) == "🦄"  # a 4-byte character is never split
    text = "short"
    assert clip_utf8(text, 1024) is text


def test_clip_logs_the_first_cut_per_type_and_field() -> None:
    with capture_logs() as logs:
        assert clip("ok", 10, type_id="user", object_id="user_1", field="display_name") == "ok"
        clip("é" * 901, 1024, type_id="user", object_id="user_1", field="display_name")
        clip("é" * 901, 1024, type_id="user", object_id="user_2", field="display_name")
        clip("d" * 3000, 2048, type_id="user", object_id="user_2", field="description")
    cuts = [entry for entry in logs if entry["event"] == "field_truncated"]
    assert [(e["type"], e["id"], e["field"], e["original_bytes"]) for e in cuts] == [
        ("user", "user_1", "display_name", 1802),
        ("user", "user_2", "description", 3000),
    ]
    assert all(e["log_level"] == "warning" for e in cuts)
    assert adjustments() == {
        ("field_truncated", "user", "display_name"): 2,
        ("field_truncated", "user", "description"): 1,
    }


def test_a_flood_of_cuts_logs_only_at_powers_of_ten() -> None:
    with capture_logs() as logs:
        for index in range(1000):
            clip("x" * 20, 10, type_id="organization", object_id=f"org_{index}", field="name")
    assert [e["occurrences"] for e in logs] == [1, 10, 100, 1000]


@pytest.mark.parametrize(
    "milliseconds",
    [MIN_TIMESTAMP_MS, -1, 0, 1_700_000_000_123, MAX_TIMESTAMP_MS],
)
def test_timestamps_in_range_are_set(milliseconds: int) -> None:
    stamp = timestamp_pb2.Timestamp()
    with capture_logs() as logs:
        set_timestamp_ms(stamp, milliseconds, type_id="user", object_id="u", field="created_at")
    assert stamp.ToMilliseconds() == milliseconds
    assert logs == []
    made = timestamp_ms(milliseconds)
    assert made is not None
    assert made.ToMilliseconds() == milliseconds


@pytest.mark.parametrize(
    "milliseconds",
    [
        -62_135_596_800_001,  # one millisecond before 0001-01-01
        253_402_300_800_000,  # 10000-01-01
        -(2**63),
        2**63 - 1,
    ],
)
def test_timestamps_out_of_range_are_left_out_and_logged(milliseconds: int) -> None:
    stamp = timestamp_pb2.Timestamp()
    with capture_logs() as logs:
        set_timestamp_ms(stamp, milliseconds, type_id="user", object_id="u_1", field="created_at")
    assert stamp == timestamp_pb2.Timestamp()  # left out: never a wrong or clamped date
    assert timestamp_ms(milliseconds) is None
    assert [(e["event"], e["type"], e["id"], e["field"], e["value_ms"]) for e in logs] == [
        ("timestamp_out_of_range", "user", "u_1", "created_at", milliseconds)
    ]


def test_none_leaves_the_timestamp_unset_silently() -> None:
    stamp = timestamp_pb2.Timestamp()
    with capture_logs() as logs:
        set_timestamp_ms(stamp, None, type_id="user", object_id="u", field="last_sign_in_at")
    assert stamp == timestamp_pb2.Timestamp()
    assert logs == []


def test_struct_keeps_an_integer_too_large_for_a_double_as_digits() -> None:
    built = struct({"members_count": 10**400, "small": 2**63})
    assert built.fields["members_count"].string_value == str(10**400)
    assert built.fields["small"].number_value == float(2**63)
