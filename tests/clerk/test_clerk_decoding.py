"""The msgspec decoders: what they accept beyond the plain shape, and what their errors say."""

from __future__ import annotations

import inspect

import httpx
import msgspec
import pytest

from connector.clerk import ClerkResponseError
from connector.clerk import models as clerk_models
from connector.clerk.decoding import describe_decode_error, json_decoder
from connector.clerk.models import ClerkModel, OffsetPage, OrganizationMembership, User
from tests.clerk.clerk_testkit import (
    make_client,
    membership_json,
    page_json,
    parse,
    sequence,
    user_json,
)

# Every model with its smallest body (what each one requires).
MINIMAL: dict[type[ClerkModel], dict[str, object]] = {
    clerk_models.Verification: {},
    clerk_models.EmailAddress: {"email_address": "a@example.com"},
    clerk_models.LinkedAccount: {"provider": "oauth_google"},
    clerk_models.Passkey: {},
    clerk_models.User: {"id": "user_1", "created_at": 1},
    clerk_models.Organization: {"id": "org_1", "name": "Acme", "created_at": 1},
    clerk_models.PublicUserData: {"user_id": "user_1"},
    clerk_models.OrganizationRef: {"id": "org_1"},
    clerk_models.OrganizationMembership: {
        "id": "orgmem_1",
        "role": "org:admin",
        "organization": {"id": "org_1"},
        "created_at": 1,
    },
    clerk_models.Permission: {"id": "perm_1", "key": "org:app:read"},
    clerk_models.Role: {"id": "role_1", "key": "org:admin"},
    clerk_models.RoleSetRole: {"key": "org:admin"},
    clerk_models.RoleSet: {"id": "rs_1", "key": "role_set:default"},
    clerk_models.OrganizationSettings: {},
    clerk_models.TotalCount: {"total_count": 0},
}


def test_every_model_has_a_minimal_body() -> None:
    models = {
        value
        for value in vars(clerk_models).values()
        if inspect.isclass(value) and issubclass(value, ClerkModel) and value is not ClerkModel
    }
    assert models - {OffsetPage} == set(MINIMAL)


@pytest.mark.parametrize("model", list(MINIMAL), ids=lambda model: model.__name__)
def test_lists_and_flags_read_null_and_absence_as_empty_and_false(
    model: type[ClerkModel],
) -> None:
    annotations = inspect.get_annotations(model)
    lists = [name for name, kind in annotations.items() if kind.startswith("Items[")]
    flags = [name for name, kind in annotations.items() if kind == "Flag"]
    nulls = dict.fromkeys(lists + flags)
    for body in (MINIMAL[model], {**MINIMAL[model], **nulls}):
        decoded = parse(model, body)
        assert [getattr(decoded, name) for name in lists] == [[] for _ in lists]
        assert [getattr(decoded, name) for name in flags] == [False for _ in flags]


def test_integers_may_arrive_as_floats_without_a_fraction() -> None:
    # JSON Schema counts 1.0 as an integer; the decoded value is an int all the same.
    user = parse(User, {"id": "user_1", "created_at": 1.7e12, "last_sign_in_at": 5.0})
    assert (user.created_at, user.last_sign_in_at) == (1_700_000_000_000, 5)
    assert isinstance(user.created_at, int)
    with pytest.raises(msgspec.ValidationError):
        parse(User, {"id": "user_1", "created_at": 1.5})


def test_a_nested_list_default_is_not_shared() -> None:
    first, second = parse(list[User], [{"id": "a", "created_at": 1}, {"id": "b", "created_at": 1}])
    assert first.email_addresses == []
    assert first.email_addresses is not second.email_addresses


def describe(model: type[object], body: bytes) -> str:
    decoder = json_decoder(model)
    with pytest.raises((msgspec.DecodeError, RecursionError)) as caught:
        decoder.decode(body)
    return describe_decode_error(body, caught.value)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'[{"id": "u", "created_at": "x"}]', "at 0.created_at: Expected `int`, got `str`"),
        (b'[{"created_at": 1}]', "at 0: Object missing required field `id`"),
        (b'[{"id": "", "created_at": 1}]', "at 0.id: Expected `str` of length >= 1"),
        (b'[{"id": "' + "é".encode() * 129 + b'", "created_at": 1}]', "at 0: an id longer"),
        (b'{"data": []}', "at (body): Expected `array`, got `object`"),
    ],
)
def test_a_mismatch_names_where_and_why(body: bytes, detail: str) -> None:
    text = describe(list[User], body)
    assert text.startswith("body does not match the schema")
    assert detail in text


def test_a_mismatch_inside_a_page_names_its_path() -> None:
    page = page_json([membership_json("orgmem_1"), {**membership_json("orgmem_2"), "role": 7}])
    body = msgspec.json.encode(page)
    assert "at data.1.role: Expected `str`, got `int`" in describe(
        OffsetPage[OrganizationMembership], body
    )


def test_a_body_that_is_not_json_says_so_whatever_mismatched_first() -> None:
    # The typed decoder meets the wrong type before the truncation; JSON that is broken is
    # reported as broken, as a decoder that parses first would.
    assert describe(list[User], b'[{"id": 5, "created_at": 1') == "body is not valid JSON"
    nested = b'[{"id": "u", "created_at": 1, "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}]"
    assert describe(list[User], nested) == "body is not valid JSON"


def test_a_reason_that_could_quote_a_value_is_not_repeated() -> None:
    error = msgspec.ValidationError("Invalid enum value 'PRIVATE_VALUE' - at `$[0].kind`")
    assert describe_decode_error(b"[]", error) == (
        "body does not match the schema at 0.kind: invalid value"
    )


def test_an_unknown_field_nested_too_deep_fails_the_call_as_invalid_json() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    body = b"[" + msgspec.json.encode(user_json("user_1"))[:-1] + b', "extra": ' + deep + b"}]"
    with (
        make_client(sequence(httpx.Response(200, content=body))) as client,
        pytest.raises(ClerkResponseError, match="not valid JSON") as caught,
    ):
        client.users_page(limit=10, starting_after=None)
    assert caught.value.__cause__ is None
