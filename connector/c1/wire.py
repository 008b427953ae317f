"""Protobuf wire bytes written directly, for the few message shapes the hot paths emit.

Building a protobuf message from Python costs a call per field set, and a Struct costs several
per entry; at 100,000 users and 600,000 grants per sync that is most of the server's CPU.
Writing the same message's bytes costs a few concatenations. Each encoder here has a slow,
obvious twin that builds the message (named in its docstring), and tests/c1/test_wire.py
decodes the bytes and compares them with the twin's message.

Wire-format facts relied on: a field is its key (field number << 3 | wire type) then its value;
strings, bytes and sub-messages are length-delimited (a varint length, then the bytes); fields
may come in any order; a proto3 scalar at its default is left out, a sub-message set to empty
is present; and bytes concatenated parse as one message, with repeated fields appended. So a
message's serialized bytes plus one more field's bytes is that message with the field added.
"""

from __future__ import annotations

import struct as _struct
from collections.abc import Iterable, Mapping
from functools import lru_cache

from connector.c1.protocol import StructValue

__all__ = [
    "any_message",
    "boolean",
    "enum",
    "key",
    "list_response",
    "message",
    "struct",
    "text",
    "timestamp_ms",
    "varint",
]

_LENGTH_DELIMITED = 2
_VARINT = 0
_FIXED64 = 1


def _encode_varint(number: int) -> bytes:
    if number < 0:
        number += 1 << 64  # int64 and enums: two's complement, ten bytes
    out = bytearray()
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


# Lengths and small numbers up to two bytes, looked up rather than computed (the hot
# functions below inline the lookup: a call costs more than the lookup).
_SHORT = 1 << 14
_SHORT_VARINTS = tuple(_encode_varint(n) for n in range(_SHORT))


def varint(number: int) -> bytes:
    if 0 <= number < _SHORT:
        return _SHORT_VARINTS[number]
    return _encode_varint(number)


def key(number: int, wire_type: int = _LENGTH_DELIMITED) -> bytes:
    """A field's key; callers keep it in a constant."""
    return _encode_varint(number << 3 | wire_type)


def message(field_key: bytes, payload: bytes) -> bytes:
    """A sub-message (or bytes) field: present even when empty."""
    size = len(payload)
    return field_key + (_SHORT_VARINTS[size] if size < _SHORT else _encode_varint(size)) + payload


def text(field_key: bytes, value: str) -> bytes:
    """A proto3 string field: left out when empty."""
    if not value:
        return b""
    data = value.encode()
    size = len(data)
    return field_key + (_SHORT_VARINTS[size] if size < _SHORT else _encode_varint(size)) + data


def boolean(number: int, value: bool) -> bytes:
    return _encode_varint(number << 3 | _VARINT) + b"\x01" if value else b""


def enum(number: int, value: int) -> bytes:
    return _encode_varint(number << 3 | _VARINT) + varint(value) if value else b""


def timestamp_ms(field_key: bytes, milliseconds: int) -> bytes:
    """A google.protobuf.Timestamp field from Unix milliseconds (twin: Timestamp.FromMilliseconds;
    the caller checks the range first, as protocol.set_timestamp_ms does)."""
    seconds, millis = divmod(milliseconds, 1000)
    payload = (b"\x08" + varint(seconds) if seconds else b"") + (
        b"\x10" + varint(millis * 1_000_000) if millis else b""
    )
    return message(field_key, payload)


@lru_cache(maxsize=64)
def _type_url(full_name: str) -> bytes:
    return text(key(1), f"type.googleapis.com/{full_name}")


def any_message(full_name: str, value: bytes) -> bytes:
    """The payload of a google.protobuf.Any holding a message of type `full_name` serialized as
    `value` (twin: Any.Pack)."""
    return _type_url(full_name) + message(_ANY_VALUE, value)


_ANY_VALUE = key(2)

# google.protobuf.Struct: map<string, Value> fields = 1, an entry being {1: key, 2: value}.
_STRUCT_FIELD = key(1)
_ENTRY_VALUE = key(2)
# google.protobuf.Value's oneof kind, and ListValue's repeated values = 1.
_NULL = bytes((1 << 3 | _VARINT, 0))
_NUMBER = bytes((2 << 3 | _FIXED64,))
_STRING = key(3)
_TRUE = bytes((4 << 3 | _VARINT, 1))
_FALSE = bytes((4 << 3 | _VARINT, 0))
_NESTED_STRUCT = key(5)
_LIST = key(6)
_LIST_VALUE = key(1)
_DOUBLE = _struct.Struct("<d")


@lru_cache(maxsize=1024)
def _entry_key(name: str) -> bytes:
    data = name.encode()
    return b"\x0a" + varint(len(data)) + data


def struct(values: Mapping[str, StructValue]) -> bytes:
    """A google.protobuf.Struct's bytes (twin: protocol.struct, including its rules: None
    entries are dropped at the top, null below; an integer beyond a double keeps its digits)."""
    return b"".join([_entry(name, value) for name, value in values.items() if value is not None])


def _entry(name: str, value: StructValue) -> bytes:
    if value is True or value is False:
        return _flag_entry(name, value)  # a profile's flags: the same few bytes every time
    encoded = _value(value)
    size = len(encoded)
    entry = (
        _entry_key(name)
        + _ENTRY_VALUE
        + (_SHORT_VARINTS[size] if size < _SHORT else _encode_varint(size))
        + encoded
    )
    size = len(entry)
    return _STRUCT_FIELD + (_SHORT_VARINTS[size] if size < _SHORT else _encode_varint(size)) + entry


@lru_cache(maxsize=1024)
def _flag_entry(name: str, value: bool) -> bytes:
    return message(_STRUCT_FIELD, _entry_key(name) + message(_ENTRY_VALUE, _value(value)))


def _value(value: StructValue) -> bytes:
    if type(value) is str:
        data = value.encode()
        size = len(data)
        return _STRING + (_SHORT_VARINTS[size] if size < _SHORT else _encode_varint(size)) + data
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    if value is None:
        return _NULL
    if isinstance(value, int | float):
        try:
            return _NUMBER + _DOUBLE.pack(float(value))
        except OverflowError:  # an integer beyond a double's range
            return _value(str(value))
    if isinstance(value, str):  # a str subclass
        return _value(str(value))
    if isinstance(value, Mapping):
        # Below the top, None is kept as null (as protocol.struct does).
        return message(_NESTED_STRUCT, b"".join(_entry(k, v) for k, v in value.items()))
    return message(_LIST, b"".join(message(_LIST_VALUE, _value(item)) for item in value))


_LIST_ITEM = key(1)
_NEXT_PAGE_TOKEN = key(2)


def list_response(items: Iterable[bytes], next_page_token: str) -> bytes:
    """A List RPC's answer (`repeated X list = 1; string next_page_token = 2`, the layout of
    every c1 List response) from its items' serialized bytes (twin: the response message
    built from the item messages)."""
    listed = b"".join(_LIST_ITEM + varint(len(item)) + item for item in items)
    return listed + text(_NEXT_PAGE_TOKEN, next_page_token)
