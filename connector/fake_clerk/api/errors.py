"""The error answers the fake gives, as exceptions the request handler turns into ClerkErrors.

Codes and statuses follow the spec's responses and Clerk's docs: 401 `authentication_invalid`,
402 `unsupported_subscription_plan_features_code` (the code Clerk's error index lists for a
feature the plan lacks), 403 `authorization_invalid`, 404 `resource_not_found`, 422
`form_param_*`, 429 `too_many_requests`, 500 `internal_clerk_error`, 503 `maintenance_mode`;
other 5xx (502, 504) reuse `internal_clerk_error`. Membership writes add codes of Clerk's error
index: 400 `already_a_member_in_organization`, 403 `organization_membership_quota_exceeded`, 400
`organization_minimum_permissions_needed`. No message ever contains the secret key or any
request header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An error response: status, one ClerkError entry and optional extra headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        long_message: str,
        *,
        meta: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {long_message}")
        self.status = status
        self.code = code
        self.message = message
        self.long_message = long_message
        self.meta = dict(meta or {})
        self.headers = dict(headers or {})


def unauthenticated() -> ApiError:
    return ApiError(
        401,
        "authentication_invalid",
        "Unauthorized request",
        "The request could not be authenticated: send a valid secret key as a Bearer token.",
    )


def unauthorized() -> ApiError:
    # GET /organizations(/{id}) documents 403 rather than 401 for a bad key.
    return ApiError(
        403,
        "authorization_invalid",
        "Unauthorized request",
        "You are not authorized to perform this request.",
    )


def plan_lacks_feature(status: int) -> ApiError:
    """402 or 403 for an endpoint the instance's plan does not include."""
    if status == 403:
        return unauthorized()
    return ApiError(
        402,
        "unsupported_subscription_plan_features_code",
        "Unsupported plan features",
        "This feature is not part of the instance's current plan: upgrade the plan to use it.",
    )


def not_found(what: str = "resource") -> ApiError:
    return ApiError(
        404,
        "resource_not_found",
        "not found",
        f"The requested {what} was not found.",
    )


def invalid_param(name: str, detail: str, *, code: str = "form_param_value_invalid") -> ApiError:
    return ApiError(422, code, "is invalid", f"{name}: {detail}", meta={"param_name": name})


def method_not_allowed(method: str) -> ApiError:
    return ApiError(
        405,
        "request_method_not_allowed",
        "method not allowed",
        f"This endpoint does not accept {method} requests.",
    )


def missing_param(name: str) -> ApiError:
    return ApiError(
        422,
        "form_param_missing",
        "is missing",
        f"{name} must be included.",
        meta={"param_name": name},
    )


def already_a_member(user_id: str) -> ApiError:
    return ApiError(
        400,
        "already_a_member_in_organization",
        "already a member",
        f"{user_id} is already a member of the organization.",
    )


def membership_quota_exceeded(limit: int) -> ApiError:
    return ApiError(
        403,
        "organization_membership_quota_exceeded",
        "organization membership quota exceeded",
        f"You have reached your limit of {limit} organization memberships, including outstanding"
        " invitations.",
    )


def minimum_permissions_needed() -> ApiError:
    return ApiError(
        400,
        "organization_minimum_permissions_needed",
        "minimum organization permissions needed",
        "There has to be at least one organization member with the minimum required permissions",
    )


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "too_many_requests",
        "Too many requests",
        f"Too many requests, retry after {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )


def server_error(status: int) -> ApiError:
    if status == 503:
        return ApiError(
            503,
            "maintenance_mode",
            "System under maintenance",
            "We are currently undergoing maintenance and only essential operations are permitted.",
        )
    return ApiError(
        status,
        "internal_clerk_error",
        "Oops, an unexpected error occurred",
        "There was an internal error on our servers. We've been notified and are working on it.",
    )
