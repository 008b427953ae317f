"""How failures reach the platform: each error becomes the gRPC status its syncer acts on.

The platform retries UNAVAILABLE forever (waiting for a RateLimitDescription's reset_at when
one is attached), skips a step on NOT_FOUND, and fails the sync on anything else. So an
upstream failure must never become an empty or partial list answered as OK.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc
from google.rpc import status_pb2
from grpc_status import rpc_status

from connector.c1.page_tokens import InvalidPageToken
from connector.c1.protocol import pack, ratelimit, timestamp_ms
from connector.c1.stream import ListingExpired
from connector.c1.sync_cache import ScopeClosed
from connector.clerk import (
    ClerkAuthenticationError,
    ClerkError,
    ClerkNotFoundError,
    ClerkPermissionError,
    ClerkRateLimitedError,
    ClerkUnavailableError,
    ListingIncomplete,
)
from connector.logs import redact
from connector.model.base import AccessNotAttributable, ResourceNotFound


class BadRequest(ValueError):
    """The platform's request is missing or malforms a field (INVALID_ARGUMENT)."""


class UnknownResourceType(LookupError):
    """A resource type this connector does not serve (unknown or switched off)."""


@dataclass(frozen=True)
class Failure:
    code: grpc.StatusCode
    message: str
    rate_limit: ratelimit.RateLimitDescription | None = None

    def to_status(self) -> grpc.Status:
        status = status_pb2.Status(code=self.code.value[0], message=self.message)
        if self.rate_limit is not None:
            status.details.append(pack(self.rate_limit))
        return rpc_status.to_status(status)


def failure_for(exc: BaseException) -> Failure | None:
    """The status for a known failure, or None for a bug (reported as INTERNAL by the caller)."""
    text = redact(str(exc))
    match exc:
        case InvalidPageToken() | BadRequest():
            return Failure(grpc.StatusCode.INVALID_ARGUMENT, text)
        case UnknownResourceType() | ResourceNotFound() | ClerkNotFoundError():
            return Failure(grpc.StatusCode.NOT_FOUND, text)
        case ClerkAuthenticationError():
            return Failure(
                grpc.StatusCode.UNAUTHENTICATED, f"the Clerk secret key was rejected: {text}"
            )
        case ClerkPermissionError():
            return Failure(
                grpc.StatusCode.PERMISSION_DENIED, f"the Clerk secret key was rejected: {text}"
            )
        case ClerkRateLimitedError():
            return Failure(grpc.StatusCode.UNAVAILABLE, text, _rate_limit(exc))
        case ClerkUnavailableError():
            return Failure(grpc.StatusCode.UNAVAILABLE, text)
        case ListingIncomplete() | ListingExpired():
            # The list changed more than a repair pass could follow, or the connector no longer
            # holds the listing a token continues: a new sync can succeed.
            return Failure(grpc.StatusCode.ABORTED, text)
        case AccessNotAttributable():
            # Clerk's data itself cannot be turned into complete grants; retrying won't help.
            return Failure(grpc.StatusCode.FAILED_PRECONDITION, text)
        case ClerkError():
            # Unusable bodies, paging that does not advance, 4xx on our own requests.
            return Failure(grpc.StatusCode.INTERNAL, text)
        case ScopeClosed():
            # The call waited on a read of a sync that was cleaned up (or expired) meanwhile.
            return Failure(
                grpc.StatusCode.ABORTED, f"the sync ended while this call waited: {text}"
            )
    return None


def _rate_limit(exc: ClerkRateLimitedError) -> ratelimit.RateLimitDescription:
    description = ratelimit.RateLimitDescription(
        status=ratelimit.RateLimitDescription.STATUS_OVERLIMIT,
        limit=exc.limit or 0,
        remaining=exc.remaining or 0,
    )
    reset_at = timestamp_ms(int((time.time() + max(exc.retry_after, 0.0)) * 1000))
    if reset_at is not None:
        description.reset_at.CopyFrom(reset_at)
    return description
