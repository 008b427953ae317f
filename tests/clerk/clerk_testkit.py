"""Shared helpers of the Clerk client unit tests: a fake clock, spec-shaped JSON, a mock server."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from connector.clerk import ClerkClient
from connector.clerk.decoding import json_decoder

CANARY_KEY = "sk_test_CANARY_d0NotLeak_7f3a9c"
API_URL = "https://api.clerk.test/v1"

Handler = Callable[[httpx.Request], httpx.Response]
T = TypeVar("T")


def parse(model: type[T], body: Any) -> T:
    """`body` as the client decodes a response: JSON bytes through the model's decoder."""
    return json_decoder(model).decode(json.dumps(body))


@dataclass
class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Recorder:
    """A MockTransport handler that records requests and answers with `respond`."""

    respond: Handler
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def sequence(*responses: httpx.Response | Exception) -> Handler:
    """A handler that answers with `responses` in order (raising the exceptions), then fails."""
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        if not queue:
            raise AssertionError(f"unexpected extra request {request.url}")
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handle


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def clerk_errors(code: str, message: str, trace_id: str = "trace-123") -> dict[str, Any]:
    return {
        "errors": [
            {"code": code, "message": message, "long_message": f"{message} (long)", "meta": {}}
        ],
        "meta": {},
        "clerk_trace_id": trace_id,
    }


def make_client(
    handler: Handler,
    clock: FakeClock | None = None,
    *,
    key: str = CANARY_KEY,
    **kwargs: Any,
) -> ClerkClient:
    clock = clock if clock is not None else FakeClock()
    return ClerkClient(
        API_URL,
        SecretStr(key),
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        clock=clock,
        jitter=lambda: 0.5,
        **kwargs,
    )


# -- spec-shaped JSON (fields as in the 2026-05-12 OpenAPI schemas) ------------------------------


def email_json(email_id: str, address: str, status: str = "verified") -> dict[str, Any]:
    return {
        "id": email_id,
        "object": "email_address",
        "email_address": address,
        "reserved": False,
        "verification": {"object": "verification_otp", "status": status, "strategy": "email_code"},
        "linked_to": [],
        "created_at": 1700000000000,
        "updated_at": 1700000000000,
    }


def user_json(user_id: str, created_at: int = 1700000000000, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": user_id,
        "object": "user",
        "external_id": None,
        "primary_email_address_id": f"idn_{user_id}",
        "primary_phone_number_id": None,
        "primary_web3_wallet_id": None,
        "username": None,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "image_url": "https://img.clerk.com/x",
        "has_image": False,
        "public_metadata": {},
        "private_metadata": None,
        "unsafe_metadata": {},
        "email_addresses": [email_json(f"idn_{user_id}", f"{user_id}@example.com")],
        "phone_numbers": [],
        "web3_wallets": [],
        "passkeys": [],
        "password_enabled": True,
        "two_factor_enabled": False,
        "totp_enabled": False,
        "backup_code_enabled": False,
        "mfa_enabled_at": None,
        "mfa_disabled_at": None,
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "last_sign_in_at": None,
        "banned": False,
        "locked": False,
        "lockout_expires_in_seconds": None,
        "verification_attempts_remaining": 100,
        "created_at": created_at,
        "updated_at": created_at,
        "delete_self_enabled": True,
        "create_organization_enabled": True,
        "last_active_at": None,
        "legal_accepted_at": None,
    }
    body.update(overrides)
    return body


def organization_json(
    org_id: str, created_at: int = 1700000000000, **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "organization",
        "id": org_id,
        "name": f"Org {org_id}",
        "slug": org_id.replace("_", "-"),
        "image_url": "https://img.clerk.com/o",
        "has_image": False,
        "max_allowed_memberships": 5,
        "admin_delete_enabled": True,
        "public_metadata": {},
        "private_metadata": {},
        "created_by": "user_1",
        "created_at": created_at,
        "updated_at": created_at,
        "role_set_key": None,
    }
    body.update(overrides)
    return body


def membership_json(
    membership_id: str,
    org_id: str = "org_1",
    user_id: str = "user_1",
    role: str = "org:member",
    created_at: int = 1700000000000,
    **overrides: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": membership_id,
        "object": "organization_membership",
        "role": role,
        "role_name": "Member",
        "permissions": ["org:sys_memberships:read"],
        "public_metadata": {},
        "private_metadata": {},
        "organization": organization_json(org_id),
        "public_user_data": {
            "user_id": user_id,
            "first_name": "Ada",
            "last_name": None,
            "profile_image_url": None,
            "image_url": "https://img.clerk.com/u",
            "has_image": False,
            "identifier": f"{user_id}@example.com",
            "username": None,
            "banned": False,
        },
        "created_at": created_at,
        "updated_at": created_at,
    }
    body.update(overrides)
    return body


def permission_json(perm_id: str, key: str) -> dict[str, Any]:
    return {
        "object": "permission",
        "id": perm_id,
        "name": key,
        "key": key,
        "description": "",
        "type": "system" if key.startswith("org:sys_") else "user",
        "created_at": 1700000000000,
        "updated_at": 1700000000000,
    }


def role_json(
    role_id: str, key: str, permissions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "object": "role",
        "id": role_id,
        "name": key,
        "key": key,
        "description": None,
        "is_creator_eligible": key == "org:admin",
        "permissions": permissions or [],
        "created_at": 1700000000000,
        "updated_at": 1700000000000,
    }


def role_set_item_json(role_id: str, key: str) -> dict[str, Any]:
    return {
        "object": "role_set_item",
        "id": role_id,
        "name": key,
        "key": key,
        "description": None,
        "members_count": None,
        "has_members": None,
        "created_at": 1700000000000,
        "updated_at": 1700000000000,
    }


def page_json(data: list[dict[str, Any]], total_count: int | None = None) -> dict[str, Any]:
    return {"data": data, "total_count": len(data) if total_count is None else total_count}
