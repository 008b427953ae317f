"""Short names for the generated c1.connector.v2 messages, and helpers to build them.

Hand-written code imports the protocol from here, never from connector.pb directly, so the
generated package layout is one line to change.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

import structlog
from google.protobuf import any_pb2, struct_pb2, timestamp_pb2
from google.protobuf.message import Message

from connector.pb.c1.connector.v2 import annotation_entitlement_pb2 as entitlement_annotations
from connector.pb.c1.connector.v2 import annotation_grant_pb2 as grant_annotations
from connector.pb.c1.connector.v2 import annotation_identifiers_pb2 as identifiers
from connector.pb.c1.connector.v2 import annotation_ratelimit_pb2 as ratelimit
from connector.pb.c1.connector.v2 import annotation_resource_tree_pb2 as resource_tree
from connector.pb.c1.connector.v2 import annotation_trait_pb2 as traits
from connector.pb.c1.connector.v2 import connector_pb2 as connector_pb
from connector.pb.c1.connector.v2 import connector_pb2_grpc as connector_grpc
from connector.pb.c1.connector.v2 import entitlement_pb2 as entitlement_pb
from connector.pb.c1.connector.v2 import entitlement_pb2_grpc as entitlement_grpc
from connector.pb.c1.connector.v2 import grant_pb2 as grant_pb
from connector.pb.c1.connector.v2 import grant_pb2_grpc as grant_grpc
from connector.pb.c1.connector.v2 import resource_pb2 as resource_pb
from connector.pb.c1.connector.v2 import resource_pb2_grpc as resource_grpc

__all__ = [
    "MAX_DESCRIPTION_BYTES",
    "MAX_ID_BYTES",
    "MAX_NAME_BYTES",
    "MAX_STATUS_DETAILS_BYTES",
    "MAX_TIMESTAMP_MS",
    "MAX_TYPE_DESCRIPTION_BYTES",
    "MIN_TIMESTAMP_MS",
    "adjustments",
    "clip",
    "clip_utf8",
    "connector_grpc",
    "connector_pb",
    "entitlement_annotations",
    "entitlement_grpc",
    "entitlement_pb",
    "grant_annotations",
    "grant_grpc",
    "grant_pb",
    "identifiers",
    "pack",
    "ratelimit",
    "reset_adjustments",
    "resource_grpc",
    "resource_pb",
    "resource_tree",
    "set_timestamp_ms",
    "struct",
    "timestamp_fits",
    "timestamp_ms",
    "traits",
    "unpack_all",
]

# The platform reads a sync's protocol level from this; >= 0.4.3 means List calls carry
# active_sync_id. We implement the contract of baton-sdk v0.25.0.
SDK_VERSION = "0.25.0"
# The key of the Struct annotation on a Cleanup answer that reports what the sync rests on
# (completeness evidence per listing, counted events); the platform ignores it.
SYNC_REPORT_KEY = "clerk_connector_sync_report"

# The platform's validation limits (upstream `validate.rules`), in UTF-8 bytes.
MAX_ID_BYTES = 1024
MAX_NAME_BYTES = 1024
MAX_DESCRIPTION_BYTES = 2048
MAX_TYPE_DESCRIPTION_BYTES = 4096
MAX_STATUS_DETAILS_BYTES = 1024

# google.protobuf.Timestamp's range, 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z, in
# Unix milliseconds (protobuf raises ValueError outside it).
MIN_TIMESTAMP_SECONDS = -62_135_596_800
MAX_TIMESTAMP_SECONDS = 253_402_300_799
MIN_TIMESTAMP_MS = MIN_TIMESTAMP_SECONDS * 1000
MAX_TIMESTAMP_MS = MAX_TIMESTAMP_SECONDS * 1000 + 999

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=Message)
StructValue = (
    str | int | float | bool | None | Sequence["StructValue"] | Mapping[str, "StructValue"]
)


def pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def unpack_all(annotations: Iterable[any_pb2.Any], kind: type[M]) -> list[M]:
    """Every annotation of message type `kind` in a repeated Any field."""
    found: list[M] = []
    for item in annotations:
        if item.TypeName() == kind.DESCRIPTOR.full_name:
            message = kind()
            item.Unpack(message)
            found.append(message)
    return found


def timestamp_ms(milliseconds: int | None) -> timestamp_pb2.Timestamp | None:
    """A protobuf Timestamp from Unix milliseconds; None for None or outside Timestamp's range."""
    if milliseconds is None or not MIN_TIMESTAMP_MS <= milliseconds <= MAX_TIMESTAMP_MS:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromMilliseconds(milliseconds)
    return stamp


def set_timestamp_ms(
    target: timestamp_pb2.Timestamp,
    milliseconds: int | None,
    *,
    type_id: str,
    object_id: str,
    field: str,
) -> None:
    """Set `target` (a Timestamp field of a message being built) from Clerk's Unix milliseconds.

    Clerk's timestamps are int64 with no stated bounds; one outside Timestamp's range is left
    out (the field stays unset) and logged, instead of failing the whole call.
    """
    if milliseconds is not None and timestamp_fits(
        milliseconds, type_id=type_id, object_id=object_id, field=field
    ):
        target.FromMilliseconds(milliseconds)


def timestamp_fits(milliseconds: int, *, type_id: str, object_id: str, field: str) -> bool:
    """True when Timestamp's range holds `milliseconds`; else False, logged (see above)."""
    if MIN_TIMESTAMP_MS <= milliseconds <= MAX_TIMESTAMP_MS:
        return True
    _notice(
        "timestamp_out_of_range",
        type_id,
        field,
        id=object_id,
        value_ms=milliseconds,
        effect="field left out",
    )
    return False


def clip_utf8(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` UTF-8 bytes, at a character boundary."""
    if len(text) * 4 <= max_bytes:  # no character takes more than 4 bytes: nothing to measure
        return text
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    # Dropping the bytes of a character cut in half leaves whole characters only.
    return encoded[:max_bytes].decode("utf-8", "ignore")


def clip(text: str, max_bytes: int, *, type_id: str, object_id: str, field: str) -> str:
    """`clip_utf8`, logging a `field_truncated` warning the first time a (type, field) is cut."""
    clipped = clip_utf8(text, max_bytes)
    if clipped is not text:
        _notice(
            "field_truncated",
            type_id,
            field,
            id=object_id,
            original_bytes=len(text.encode("utf-8")),
            max_bytes=max_bytes,
        )
    return clipped


# How often each (event, type, field) adjustment happened in this process. The first one is
# logged as a warning; later ones are logged at each power of ten, so a million over-long
# names cost seven log lines, not a million.
_adjustments: Counter[tuple[str, str, str]] = Counter()
_adjustments_guard = threading.Lock()


def _notice(event: str, type_id: str, field: str, **details: object) -> None:
    key = (event, type_id, field)
    with _adjustments_guard:
        _adjustments[key] += 1
        count = _adjustments[key]
    if count == 1 or _is_power_of_ten(count):
        log.warning(event, type=type_id, field=field, occurrences=count, **details)


def _is_power_of_ten(number: int) -> bool:
    while number >= 10 and number % 10 == 0:
        number //= 10
    return number == 1


def adjustments() -> dict[tuple[str, str, str], int]:
    """(event, type, field) -> how often a builder cut a field or left one out, in this process."""
    with _adjustments_guard:
        return dict(_adjustments)


def reset_adjustments() -> None:
    """Forget the counts (tests: the next adjustment of each field is logged again)."""
    with _adjustments_guard:
        _adjustments.clear()


def struct(values: Mapping[str, StructValue]) -> struct_pb2.Struct:
    """A Struct from plain values; None entries are dropped rather than sent as null.

    Sets the map entries directly: about twice as fast as `Struct.update`, which matters for
    a profile on every user.
    """
    result = struct_pb2.Struct()
    fill_struct(result, values)
    return result


def fill_struct(target: struct_pb2.Struct, values: Mapping[str, StructValue]) -> None:
    """`struct`, written into an existing Struct (a field of a message being built)."""
    fields = target.fields
    for key, value in values.items():
        if value is not None:
            _set_value(fields[key], value)


def _set_value(target: struct_pb2.Value, value: StructValue) -> None:
    if value is None:
        target.null_value = struct_pb2.NULL_VALUE
    elif value is True or value is False:
        target.bool_value = value
    elif isinstance(value, int | float):
        try:
            target.number_value = value
        except OverflowError:  # an integer beyond a double's range: keep its digits
            target.string_value = str(value)
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, Mapping):
        target.struct_value.SetInParent()
        nested = target.struct_value.fields
        for key, item in value.items():
            _set_value(nested[key], item)
    else:
        target.list_value.SetInParent()
        for item in value:
            _set_value(target.list_value.values.add(), item)
