"""Domain errors and the ONE place where they become a gRPC status and an HTTP status.

Every error the gateway reports is a `HubError`. `to_grpc` turns it into a gRPC status code plus
trailing metadata (`x-hub-http-status`, `x-hub-detail`) from which Envoy's Lua filter writes the
FastAPI-style `{"detail": ...}` body with the right HTTP status (402 and 422 have no gRPC code).
"""

from __future__ import annotations

import json
from typing import Any

import grpc


class HubError(Exception):
    """Base of all errors the gateway reports to callers. `retry_after` (seconds) becomes `Retry-After`."""

    http_status = 500
    grpc_code = grpc.StatusCode.INTERNAL

    def __init__(self, detail: Any = "Internal server error", *, retry_after: float | None = None):
        super().__init__(detail if isinstance(detail, str) else json.dumps(detail))
        self.detail = detail
        self.retry_after = retry_after


class BadRequest(HubError):
    http_status = 400
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class Unauthorized(HubError):
    http_status = 401
    grpc_code = grpc.StatusCode.UNAUTHENTICATED


class InsufficientCredits(HubError):
    http_status = 402
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, detail: str = "Insufficient credits"):
        super().__init__(detail)


class NotFound(HubError):
    http_status = 404
    grpc_code = grpc.StatusCode.NOT_FOUND


class Conflict(HubError):
    http_status = 409
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class PayloadTooLarge(HubError):
    http_status = 413
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class RateLimited(HubError):
    http_status = 429
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class NotImplementedYet(HubError):
    http_status = 501
    grpc_code = grpc.StatusCode.UNIMPLEMENTED


class Unavailable(HubError):
    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE


class ValidationFailed(HubError):
    """422 with the documented HTTPValidationError list as `detail`."""

    http_status = 422
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, errors: list[dict]):
        super().__init__(errors)
        self.errors = errors

    @classmethod
    def single(cls, loc: list, msg: str, type_: str = "value_error") -> ValidationFailed:
        return cls([{"loc": loc, "msg": msg, "type": type_}])


class UpstreamError(HubError):
    """A provider failed. `http_status` is chosen by the caller (429, 502, 503 or 504); `detail` names the provider."""

    grpc_code = grpc.StatusCode.UNAVAILABLE

    _CODES = {
        429: grpc.StatusCode.RESOURCE_EXHAUSTED,
        502: grpc.StatusCode.UNAVAILABLE,
        503: grpc.StatusCode.UNAVAILABLE,
        504: grpc.StatusCode.DEADLINE_EXCEEDED,
    }

    def __init__(self, provider: str, http_status: int, message: str, *, retryable: bool = False):
        super().__init__(f"Provider '{provider}' error: {message}")
        self.provider = provider
        self.http_status = http_status
        self.grpc_code = self._CODES.get(http_status, grpc.StatusCode.UNAVAILABLE)
        self.retryable = retryable
        self.message = message


def detail_json(err: HubError) -> str:
    """The detail as ASCII-only JSON, safe to carry in a header."""
    return json.dumps(err.detail, ensure_ascii=True, separators=(",", ":"))


def to_grpc(err: BaseException) -> tuple[grpc.StatusCode, str, tuple[tuple[str, str], ...]]:
    """Code, message and trailing metadata for an error; unknown exceptions become a generic 500."""
    if not isinstance(err, HubError):
        err = HubError("Internal server error")
    message = err.detail if isinstance(err.detail, str) else "Validation error"
    metadata = (
        ("x-hub-http-status", str(err.http_status)),
        ("x-hub-detail", detail_json(err)),
    )
    if err.retry_after is not None:  # Envoy's Lua filter writes it as Retry-After
        metadata += (("x-hub-retry-after", str(max(1, round(err.retry_after)))),)
    return err.grpc_code, message, metadata


def sse_error_event(err: BaseException) -> dict:
    """The in-stream error event reported once a stream has begun (its HTTP status is already sent)."""
    if not isinstance(err, HubError):
        err = HubError("Internal server error")
    event: dict[str, Any] = {
        "type": "error",
        "error": {
            "message": err.detail if isinstance(err.detail, str) else "Validation error",
            "type": type(err).__name__,
            "code": err.http_status,
        },
    }
    if isinstance(err, UpstreamError):
        event["error"]["provider"] = err.provider
    return event
