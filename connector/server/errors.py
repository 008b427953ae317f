"""Clerk's failures as the platform must see them (the c1 layer maps its own errors).

A 429 becomes UNAVAILABLE with a RateLimitDescription (the platform waits for its reset_at),
5xx and time-outs UNAVAILABLE (retried), a rejected key UNAUTHENTICATED / PERMISSION_DENIED,
a list that cannot be proven complete ABORTED, data that cannot be attributed
FAILED_PRECONDITION. Every message is redacted of anything shaped like a Clerk key.
"""

from __future__ import annotations

import time

import grpc

from connector.c1.errors import Failure, c1_failure
from connector.c1.protocol import ratelimit, timestamp_ms
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
from connector.model.context import AccessNotAttributable


def failure_for(exc: BaseException) -> Failure | None:
    """The status for a known failure, or None for a bug (reported as INTERNAL by the caller)."""
    known = clerk_failure(exc) or c1_failure(exc)
    if known is None:
        return None
    return Failure(known.code, redact(known.message), known.details)


def clerk_failure(exc: BaseException) -> Failure | None:
    text = str(exc)
    match exc:
        case ClerkNotFoundError():
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
            return Failure(grpc.StatusCode.UNAVAILABLE, text, (_rate_limit(exc),))
        case ClerkUnavailableError():
            return Failure(grpc.StatusCode.UNAVAILABLE, text)
        case ListingIncomplete():
            # The list changed more than a repair pass could follow: a new sync can succeed.
            return Failure(grpc.StatusCode.ABORTED, text)
        case AccessNotAttributable():
            # Clerk's data itself cannot be turned into complete grants; retrying won't help.
            return Failure(grpc.StatusCode.FAILED_PRECONDITION, text)
        case ClerkError():
            # Unusable bodies, paging that does not advance, 4xx on our own requests.
            return Failure(grpc.StatusCode.INTERNAL, text)
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
