"""Sort keys for the `order_by` fields the spec lists, per collection.

Every key ends with `(created_at, id)`, so rows that tie on the ordered field (and rows created in
the same millisecond) still come out in one fixed order and offset pages never overlap or skip
while the data stays put. Missing values sort after present ones in ascending order (and so
before them in descending order, which is the reversed list).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from connector.fake_clerk.data.records import MembershipRecord, OrganizationRecord, UserRecord

if TYPE_CHECKING:
    from connector.fake_clerk.data.store import Dataset

SortKey = tuple[Any, ...]
KeyFunc = Callable[["Dataset", Any], SortKey]


def _tail(created_at: int, row_id: str) -> tuple[int, str]:
    return (created_at, row_id)


def _optional(value: object) -> tuple[bool, object]:
    # (False, value) sorts before (True, ""): present values first in ascending order.
    return (value is None, "" if value is None else value)


def _user_primary_email(user: UserRecord) -> str | None:
    email = user.email(user.primary_email_address_id)
    return None if email is None else email.email_address


def _user_primary_phone(user: UserRecord) -> str | None:
    phone = next((p for p in user.phone_numbers if p.id == user.primary_phone_number_id), None)
    return None if phone is None else phone.phone_number


def _user_field(name: str) -> KeyFunc:
    def key(_: Dataset, user: UserRecord) -> SortKey:
        value: object
        if name == "email_address":
            value = _user_primary_email(user)
        elif name == "phone_number":
            value = _user_primary_phone(user)
        elif name == "web3wallet":
            value = None  # the fake has no web3 wallets
        elif name == "updated_at":
            value = user.updated_at if user.updated_at is not None else user.created_at
        else:
            value = getattr(user, name)
        return (*_optional(value), *_tail(user.created_at, user.id))

    return key


def _membership_user_field(name: str) -> KeyFunc:
    user_key = _user_field(name)

    def key(dataset: Dataset, membership: MembershipRecord) -> SortKey:
        user = dataset.user(membership.user_id)
        head = user_key(dataset, user)[:2] if user is not None else (True, "")
        return (*head, *_tail(membership.created_at, membership.id))

    return key


def _created_at(_: Dataset, row: Any) -> SortKey:
    return _tail(row.created_at, row.id)


def _attr(name: str) -> KeyFunc:
    def key(_: Dataset, row: Any) -> SortKey:
        return (*_optional(getattr(row, name)), *_tail(row.created_at, row.id))

    return key


def _members_count(dataset: Dataset, organization: OrganizationRecord) -> SortKey:
    return (
        dataset.members_count(organization.id),
        *_tail(organization.created_at, organization.id),
    )


_USER_FIELDS = (
    "updated_at",
    "email_address",
    "web3wallet",
    "first_name",
    "last_name",
    "phone_number",
    "username",
    "last_active_at",
    "last_sign_in_at",
)
_MEMBERSHIP_FIELDS = ("phone_number", "email_address", "first_name", "last_name", "username")

# collection name -> order_by field -> key function
ORDERINGS: Mapping[str, Mapping[str, KeyFunc]] = {
    "users": {"created_at": _created_at, **{f: _user_field(f) for f in _USER_FIELDS}},
    "organizations": {
        "created_at": _created_at,
        "name": _attr("name"),
        "members_count": _members_count,
    },
    "memberships": {
        "created_at": _created_at,
        **{f: _membership_user_field(f) for f in _MEMBERSHIP_FIELDS},
    },
    "roles": {"created_at": _created_at, "name": _attr("name"), "key": _attr("key")},
    "permissions": {"created_at": _created_at, "name": _attr("name"), "key": _attr("key")},
    "role_sets": {"created_at": _created_at, "name": _attr("name"), "key": _attr("key")},
}


def tie_key(collection: str, field: str) -> KeyFunc:
    """The part of `field`'s sort key that the spec orders by: rows equal in it are a tie.

    Every key ends with the fake's own `(created_at, id)` tiebreak; the head before it is what
    Clerk sorts on, with no tiebreak promised.
    """
    if field == "created_at":
        return lambda _, row: (row.created_at,)
    full = ORDERINGS[collection][field]
    return lambda dataset, row: full(dataset, row)[:-2]
