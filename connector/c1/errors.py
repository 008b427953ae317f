"""How failures reach the platform: each error becomes the gRPC status its syncer acts on.

The platform retries UNAVAILABLE forever (waiting for a RateLimitDescription's reset_at when
one is attached), skips a step on NOT_FOUND, and fails the sync on anything else. So an
upstream failure must never become an empty or partial list answered as OK. This module maps
the c1 layer's own errors; the upstream's errors are mapped by whoever knows them (a
`FailureMapper` handed to the service).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message
from google.rpc import status_pb2
from grpc_status import rpc_status

from connector.c1.builders import ProvisioningRefused, ResourceNotFound
from connector.c1.page_tokens import InvalidPageToken
from connector.c1.protocol import pack
from connector.c1.stream import ListingExpired
from connector.c1.sync_cache import ScopeClosed


class BadRequest(ValueError):
    """The platform's request is missing or malforms a field (INVALID_ARGUMENT)."""


class UnknownResourceType(LookupError):
    """A resource type this connector does not serve (unknown or switched off)."""


class ProvisioningOff(RuntimeError):
    """Grant or Revoke on a connector that does not provision (FAILED_PRECONDITION)."""


@dataclass(frozen=True)
class Failure:
    code: grpc.StatusCode
    message: str
    details: tuple[Message, ...] = ()  # e.g. a RateLimitDescription for UNAVAILABLE

    def to_status(self) -> grpc.Status:
        status = status_pb2.Status(code=self.code.value[0], message=self.message)
        for detail in self.details:
            status.details.append(pack(detail))
        return rpc_status.to_status(status)


# The status for a known failure, or None when the mapper does not know the error.
FailureMapper = Callable[[BaseException], "Failure | None"]


def no_upstream_failures(_exc: BaseException) -> Failure | None:
    return None


def c1_failure(exc: BaseException) -> Failure | None:
    """The status for the c1 layer's own errors, or None (a bug, or the upstream's error)."""
    text = str(exc)
    match exc:
        case InvalidPageToken() | BadRequest():
            return Failure(grpc.StatusCode.INVALID_ARGUMENT, text)
        case UnknownResourceType() | ResourceNotFound():
            return Failure(grpc.StatusCode.NOT_FOUND, text)
        case ListingExpired():
            # The connector no longer holds the listing a token continues: a new sync can
            # succeed, resuming this one could serve a row twice or miss one.
            return Failure(grpc.StatusCode.ABORTED, text)
        case ProvisioningOff() | ProvisioningRefused():
            return Failure(grpc.StatusCode.FAILED_PRECONDITION, text)
        case ScopeClosed():
            # The call waited on a read of a sync that was cleaned up (or expired) meanwhile.
            return Failure(
                grpc.StatusCode.ABORTED, f"the sync ended while this call waited: {text}"
            )
    return None
