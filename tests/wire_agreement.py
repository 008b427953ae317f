"""What "the fast path's bytes decode to exactly the slow twin's message" means in the tests.

Messages are compared with `==` after one normalization: every google.protobuf.Any (at any
depth) has its value re-serialized deterministically. An Any holds its message as bytes, and
a Struct's map entries may be written in any order (upb writes them in hash order), so two
equal annotations need not have equal bytes; decoded, they are the same message.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf import any_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from connector.c1.builders import Page

M = TypeVar("M", bound=Message)


def normalized(message: M) -> M:
    copy = type(message)()
    copy.CopyFrom(message)
    _normalize(copy)
    return copy


def _normalize(message: Message) -> None:
    if isinstance(message, any_pb2.Any):
        name = message.TypeName()
        descriptor = descriptor_pool.Default().FindMessageTypeByName(name)
        inner = message_factory.GetMessageClass(descriptor)()
        message.Unpack(inner)
        _normalize(inner)
        message.value = inner.SerializeToString(deterministic=True)
        return
    for field, value in message.ListFields():
        kind = field.message_type
        if field.type != FieldDescriptor.TYPE_MESSAGE or kind is None:
            continue
        if kind.GetOptions().map_entry:
            if kind.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                for item in value.values():
                    _normalize(item)
        elif field.is_repeated:
            for item in value:
                _normalize(item)
        else:
            _normalize(value)


def assert_same(data: bytes, built: Message) -> None:
    """`data` (a fast path's bytes) decodes to exactly `built` (its slow twin's message)."""
    decoded = type(built).FromString(data)
    assert normalized(decoded) == normalized(built), (decoded, built)


def assert_agree(slow: Page[M], fast: Page[bytes]) -> None:
    """A wire fast path's page is its slow twin's page, item for item, token for token."""
    assert fast.next_token == slow.next_token
    assert len(fast.items) == len(slow.items)
    for message, data in zip(slow.items, fast.items, strict=True):
        assert_same(data, message)
