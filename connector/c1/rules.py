"""The platform's validation rules for what a connector emits, as a checker.

Upstream c1.connector.v2 messages carry protoc-gen-validate rules that the platform enforces
when it ingests a sync (`validate.rules`; lengths in UTF-8 bytes, "optional" meaning the rule
applies only to a set field). Our .proto files leave those options out, so this module states
them in code: `violations(message)` lists every rule a ResourceType, Resource, Entitlement or
Grant breaks, recursing into nested messages (an entitlement's resource, a grant's principal,
`grantable_to`) and into the annotations it can decode (UserTrait, GroupTrait, RoleTrait, ...).

Rules applied wherever the message appears:
- ResourceType: id 1-1024 bytes; display_name <= 1024; description <= 4096; traits unique.
- ResourceId: resource_type and resource 1-1024 bytes.
- Resource: id present; display_name <= 1024; description <= 2048.
- Resource.Status / UserTrait.Status: details <= 1024.
- Entitlement: resource present; id 1-1024; display_name <= 1024; description <= 2048.
- Grant: entitlement and principal present; id 1-1024.
- UserTrait: every email address a valid addr-spec, at most one primary.
- every enum field (traits, statuses, account_type, purpose, ...): a defined value.
- every google.protobuf.Timestamp: within 0001-01-01 .. 9999-12-31, nanos 0..999,999,999.

It knows only the protocol, nothing about Clerk. Builders call `is_email_address` to decide
which addresses a UserTrait may carry; tests run `violations` over everything built.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from google.protobuf import any_pb2, descriptor_pool, message_factory, timestamp_pb2
from google.protobuf.message import DecodeError, Message

from connector.c1.protocol import (
    MAX_DESCRIPTION_BYTES,
    MAX_ID_BYTES,
    MAX_NAME_BYTES,
    MAX_STATUS_DETAILS_BYTES,
    MAX_TIMESTAMP_SECONDS,
    MAX_TYPE_DESCRIPTION_BYTES,
    MIN_TIMESTAMP_SECONDS,
    entitlement_pb,
    grant_pb,
    resource_pb,
    traits,
)

__all__ = ["is_email_address", "violations"]

# RFC 5322 addr-spec, as the platform's validator reads it: the local part a dot-atom (atext
# may include UTF-8, RFC 6532) or a quoted string; the domain a host name of letters, digits
# and hyphens (IDNs in their xn-- form), labels of 1-63 bytes. No display name, comments or
# surrounding spaces; at most 254 bytes in all and 64 in the local part.
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\U0010ffff]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010ffff]|\\[\x20-\x7e])*"'
_LOCAL_PART = re.compile(rf"(?:{_DOT_ATOM}|{_QUOTED})")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
MAX_EMAIL_BYTES = 254
MAX_EMAIL_LOCAL_BYTES = 64
MAX_HOSTNAME_BYTES = 253


def is_email_address(text: str) -> bool:
    """True for an RFC 5322 addr-spec the platform accepts as `UserTrait.Email.address`."""
    local, at, domain = text.rpartition("@")
    if not at or len(text.encode("utf-8")) > MAX_EMAIL_BYTES:
        return False
    if len(local.encode("utf-8")) > MAX_EMAIL_LOCAL_BYTES or not _LOCAL_PART.fullmatch(local):
        return False
    host = domain.removesuffix(".")
    if not host or len(host) > MAX_HOSTNAME_BYTES:
        return False
    return all(_LABEL.fullmatch(label) for label in host.split("."))


def violations(message: Message) -> list[str]:
    """Every validation rule `message` (and everything nested in it) breaks; [] when valid.

    Each entry names the path of the field, e.g. `Grant.entitlement.display_name: 1031 bytes,
    at most 1024`.
    """
    found: list[str] = []
    _walk(message, message.DESCRIPTOR.name, found)
    return found


_Rule = Callable[[Message, str], Iterator[str]]


def _walk(message: Message, path: str, found: list[str]) -> None:
    rule = _RULES.get(message.DESCRIPTOR.full_name)
    if rule is not None:
        found.extend(rule(message, path))
    if isinstance(message, timestamp_pb2.Timestamp):
        found.extend(_timestamp(message, path))
        return
    if isinstance(message, any_pb2.Any):
        _walk_any(message, path, found)
        return
    for field, value in message.ListFields():
        where = f"{path}.{field.name}"
        repeated = field.is_repeated
        if field.enum_type is not None:
            enum = field.enum_type
            for number in value if repeated else [value]:
                if enum.values_by_number.get(number) is None:
                    found.append(f"{where}: {number} is not a defined {enum.name}")
        elif field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                for key in value:  # only maps of messages need a walk (Struct, GrantSources)
                    item = value[key]
                    if isinstance(item, Message):
                        _walk(item, f"{where}[{key!r}]", found)
            elif repeated:
                for index, item in enumerate(value):
                    _walk(item, f"{where}[{index}]", found)
            else:
                _walk(value, where, found)


def _walk_any(packed: any_pb2.Any, path: str, found: list[str]) -> None:
    """Decode an annotation whose type this process knows, and check it too."""
    name = packed.TypeName()
    try:
        kind = descriptor_pool.Default().FindMessageTypeByName(name)
    except KeyError:
        return  # a type we have no schema for; the platform ignores it as well
    decoded = message_factory.GetMessageClass(kind)()
    try:
        decoded.ParseFromString(packed.value)
    except DecodeError:
        found.append(f"{path}: does not decode as {name}")
        return
    _walk(decoded, f"{path}<{kind.name}>", found)


def _timestamp(stamp: timestamp_pb2.Timestamp, path: str) -> Iterator[str]:
    if not MIN_TIMESTAMP_SECONDS <= stamp.seconds <= MAX_TIMESTAMP_SECONDS:
        yield f"{path}: seconds {stamp.seconds} outside 0001-01-01 .. 9999-12-31"
    if not 0 <= stamp.nanos <= 999_999_999:
        yield f"{path}: nanos {stamp.nanos} outside 0..999999999"


def _length(text: str, path: str, most: int, *, required: bool = False) -> Iterator[str]:
    size = len(text.encode("utf-8"))
    if required and size == 0:
        yield f"{path}: empty, must be 1-{most} bytes"
    elif size > most:
        yield f"{path}: {size} bytes, at most {most}"


def _required(message: Message, field: str, path: str) -> Iterator[str]:
    if not message.HasField(field):
        yield f"{path}.{field}: required"


def _resource_type(message: Message, path: str) -> Iterator[str]:
    assert isinstance(message, resource_pb.ResourceType)
    yield from _length(message.id, f"{path}.id", MAX_ID_BYTES, required=True)
    yield from _length(message.display_name, f"{path}.display_name", MAX_NAME_BYTES)
    yield from _length(message.description, f"{path}.description", MAX_TYPE_DESCRIPTION_BYTES)
    if len(set(message.traits)) != len(message.traits):
        yield f"{path}.traits: not unique"


def _resource_id(message: Message, path: str) -> Iterator[str]:
    assert isinstance(message, resource_pb.ResourceId)
    yield from _length(message.resource_type, f"{path}.resource_type", MAX_ID_BYTES, required=True)
    yield from _length(message.resource, f"{path}.resource", MAX_ID_BYTES, required=True)


def _resource(message: Message, path: str) -> Iterator[str]:
    assert isinstance(message, resource_pb.Resource)
    yield from _required(message, "id", path)
    yield from _length(message.display_name, f"{path}.display_name", MAX_NAME_BYTES)
    yield from _length(message.description, f"{path}.description", MAX_DESCRIPTION_BYTES)


def _status(message: Message, path: str) -> Iterator[str]:
    assert isinstance(message, resource_pb.Resource.Status | traits.UserTrait.Status)
    yield from _length(message.details, f"{path}.details", MAX_STATUS_DETAILS_BYTES)


def _entitlement(message: Message, path: str) -> Iterator[str]:
    assert isinstance(message, entitlement_pb.Entitlement)
    yield from _required(message, "resource", path)
    yield from _length(message.id, f"{path}.id", MAX_ID_BYTES, required=True)
    yield from _length(message.display_name, f"{path}.display_name", MAX_NAME_BYTES)
    yield from _length(message.description, f"{path}.description", MAX_DESCRIPTION_BYTES)


def _grant(message: Message, path: str) -> Iterator[str]:
    assert isinstance(message, grant_pb.Grant)
    yield from _required(message, "entitlement", path)
    yield from _required(message, "principal", path)
    yield from _length(message.id, f"{path}.id", MAX_ID_BYTES, required=True)


def _user_trait(message: Message, path: str) -> Iterator[str]:
    assert isinstance(message, traits.UserTrait)
    for index, email in enumerate(message.emails):
        if not is_email_address(email.address):
            yield f"{path}.emails[{index}].address: not a valid email address"
    primaries = sum(1 for email in message.emails if email.is_primary)
    if primaries > 1:
        yield f"{path}.emails: {primaries} marked primary, at most one"


_RULES: dict[str, _Rule] = {
    resource_pb.ResourceType.DESCRIPTOR.full_name: _resource_type,
    resource_pb.ResourceId.DESCRIPTOR.full_name: _resource_id,
    resource_pb.Resource.DESCRIPTOR.full_name: _resource,
    resource_pb.Resource.Status.DESCRIPTOR.full_name: _status,
    traits.UserTrait.Status.DESCRIPTOR.full_name: _status,
    entitlement_pb.Entitlement.DESCRIPTOR.full_name: _entitlement,
    grant_pb.Grant.DESCRIPTOR.full_name: _grant,
    traits.UserTrait.DESCRIPTOR.full_name: _user_trait,
}
