"""Domain errors and the ONE place where they become a gRPC status, an HTTP status and a response body.

Every error the gateway reports is a `HubError`. `to_grpc` turns it into a gRPC status code plus trailing
metadata; Envoy's Lua filter (`envoy/errors.lua`) only copies what the server decided:

- `x-hub-http-status`: the HTTP status of the REST answer (402 and 422 have no gRPC code);
- `x-hub-body`: the complete JSON body, ready to send;
- `x-hub-retry-after`: seconds, when set (Lua writes it as `retry-after`);
- `x-hub-detail`: the `detail` alone, for gRPC clients that read the trailers.

Two body styles exist: `"hub"` (the documented `{"detail": ...}` of /api/v1) and `"openai"` (the
`{"error": {"message", "type", "param", "code"}}` of the OpenAI-compatible surface at /v1, with OpenAI's statuses:
a validation failure is a 400 there).

Nothing a caller sent travels unbounded: every string in a detail is cut to `MAX_TEXT` characters with control
characters removed, lists and objects to `MAX_ITEMS` entries, so an error trailer stays a few KB however large the
request was (one oversized trailer would make Envoy reset the HTTP/2 connection every other request shares).

Envoy answers these itself, before a request reaches the server (`envoy/envoy.yaml.tmpl`, `local_reply_config`):
404 unknown path; 413 body over HUB_MAX_BODY_BYTES; 431 request headers too large; 422 malformed JSON or a wrong
JSON type (the transcoder's 400); 408 request headers not received in time; 503 when the gRPC server cannot be
reached; 504 when Envoy's own idle timeout ends a silent request. A gRPC failure without our trailers (the gRPC
library's own rejections) gets a fixed body from Lua that reveals nothing internal: RESOURCE_EXHAUSTED is a chunked
upload over the message limit (413), UNAVAILABLE a server that is not reachable (503), anything else 500.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Literal

import grpc

log = logging.getLogger("hub.errors")

Style = Literal["hub", "openai"]

MAX_TEXT = 300  # characters of one string in a detail
MAX_ITEMS = 20  # entries of one list / object in a detail
MAX_DEPTH = 4
INTERNAL_MESSAGE = "Internal server error"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class HubError(Exception):
    """Base of all errors the gateway reports to callers. `retry_after` (seconds) becomes `Retry-After`."""

    http_status = 500
    grpc_code = grpc.StatusCode.INTERNAL
    openai_code: str | None = None

    def __init__(self, detail: Any = INTERNAL_MESSAGE, *, retry_after: float | None = None):
        super().__init__(detail if isinstance(detail, str) else json.dumps(detail, default=str))
        self.detail = detail
        self.retry_after = retry_after


class BadRequest(HubError):
    http_status = 400
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class Unauthorized(HubError):
    http_status = 401
    grpc_code = grpc.StatusCode.UNAUTHENTICATED
    openai_code = "invalid_api_key"


class InsufficientCredits(HubError):
    http_status = 402
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    openai_code = "insufficient_quota"

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
    """429; pass `retry_after` so clients know when to come back."""

    http_status = 429
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    openai_code = "rate_limit_exceeded"


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

    def __init__(
        self,
        provider: str,
        http_status: int,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(f"Provider '{provider}' error: {message}", retry_after=retry_after)
        self.provider = provider
        self.http_status = http_status
        self.grpc_code = self._CODES.get(http_status, grpc.StatusCode.UNAVAILABLE)
        self.retryable = retryable
        self.message = message


# ---------------------------------------------------------------------------------------------- sanitising


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """`text` without control characters or lone surrogates, cut to `limit` characters (marked with '...')."""
    text = _CONTROL.sub("?", text[: limit * 2])
    return text if len(text) <= limit else text[: limit - 3] + "..."


def sanitize(value: Any, depth: int = 0) -> Any:
    """A bounded copy of a detail: strings clipped, containers cut to MAX_ITEMS, nesting to MAX_DEPTH."""
    if isinstance(value, str):
        return clip(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else clip(str(value), 40)
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if depth >= MAX_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {clip(str(k), 60): sanitize(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, list | tuple):
        return [sanitize(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    return clip(str(value))


def body_too_large_message(limit_bytes: int) -> str:
    """The one wording of the upload limit (Envoy's 413 and Lua's early refusal are rendered from it)."""
    return f"Request body too large: the limit is {limit_bytes / (1024 * 1024):g} MB"


def _as_hub_error(err: BaseException) -> HubError:
    return err if isinstance(err, HubError) else HubError(INTERNAL_MESSAGE)


def _message(err: HubError, detail: Any) -> str:
    """A one-line human message: the string detail, or the validation errors joined."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail and all(isinstance(e, dict) for e in detail):
        parts = []
        for e in detail[:3]:
            where = ".".join(str(p) for p in (e.get("loc") or []) if p != "body")
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        more = f" (and {len(detail) - 3} more)" if len(detail) > 3 else ""
        return clip("Validation error: " + "; ".join(parts) + more, 2 * MAX_TEXT)
    return "Validation error"


# ------------------------------------------------------------------------------------------- body styles

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    501: "invalid_request_error",
}
# OpenAI answers what /api/v1 calls 422 with 400. Insufficient credits stay 402 (issue 10: the SDKs raise their
# generic APIStatusError with status 402, which no retry policy retries; OpenAI's own quota 429 would be retried).
_OPENAI_STATUS = {422: 400}
DEFAULT_RETRY_AFTER = "1"  # seconds: a 429 always says when to come back, even when the provider did not


def http_status(err: BaseException, style: Style = "hub") -> int:
    status = _as_hub_error(err).http_status
    return _OPENAI_STATUS.get(status, status) if style == "openai" else status


def body(err: BaseException, style: Style = "hub") -> dict[str, Any]:
    """The complete JSON body of the REST answer for `err`, already sanitised."""
    err = _as_hub_error(err)
    detail = sanitize(err.detail)
    if style == "hub":
        return {"detail": detail}
    param = None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        param = ".".join(str(p) for p in (detail[0].get("loc") or []) if p != "body") or None
    status = err.http_status
    code = err.openai_code
    if code is None and isinstance(err, UpstreamError):
        code = "upstream_error"
    elif code is None and status == 422:
        code = "invalid_value"
    elif code is None and isinstance(err, NotFound):
        code = "model_not_found"  # on /v1 every 404 is an unknown or unavailable model (or provider)
    return {
        "error": {
            "message": _message(err, detail),
            "type": _OPENAI_TYPES.get(status, "server_error"),
            "param": param,
            "code": code,
        }
    }


def _ascii_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def detail_json(err: HubError) -> str:
    """The sanitised detail as ASCII-only JSON, safe to carry in a header."""
    return _ascii_json(sanitize(err.detail))


def _retry_after(err: HubError) -> str | None:
    if err.retry_after is None:
        return DEFAULT_RETRY_AFTER if err.http_status == 429 else None
    return str(max(0, int(-(-err.retry_after // 1))))  # whole seconds, rounded up


def to_grpc(err: BaseException, style: Style = "hub") -> tuple[grpc.StatusCode, str, tuple[tuple[str, str], ...]]:
    """Code, message and trailing metadata for an error; unknown exceptions become a generic 500."""
    err = _as_hub_error(err)
    detail = sanitize(err.detail)
    metadata = [
        ("x-hub-http-status", str(http_status(err, style))),
        ("x-hub-body", _ascii_json(body(err, style))),
        ("x-hub-detail", _ascii_json(detail)),
    ]
    retry_after = _retry_after(err)
    if retry_after is not None:
        metadata.append(("x-hub-retry-after", retry_after))
    return err.grpc_code, _message(err, detail), tuple(metadata)


def sse_error_event(err: BaseException, style: Style = "hub") -> dict:
    """The in-stream error event reported once a stream has begun (its HTTP status is already sent)."""
    err = _as_hub_error(err)
    if style == "openai":
        return body(err, "openai")
    event: dict[str, Any] = {
        "type": "error",
        "error": {
            "message": _message(err, sanitize(err.detail)),
            "type": type(err).__name__,
            "code": err.http_status,
        },
    }
    if isinstance(err, UpstreamError):
        event["error"]["provider"] = err.provider
    return event


def log_unexpected(exc: BaseException, request_id: str | None) -> None:
    """Every non-domain exception is logged once, with the request id the caller can quote."""
    if not isinstance(exc, HubError):
        log.error("internal error (request %s)", request_id or "-", exc_info=exc)
