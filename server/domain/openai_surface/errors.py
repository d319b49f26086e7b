"""OpenAI's error body `{"error": {"message", "type", "param", "code"}}` for every domain error.

The statuses are the ones the OpenAI SDKs map to their exception classes: what /api/v1 answers 422 is a 400
here (BadRequestError), 401 AuthenticationError, 404 NotFoundError, 429 RateLimitError (with Retry-After), and
insufficient credits stays 402 (the SDKs' generic APIStatusError with status 402), as issue 10 asks.
"""

from __future__ import annotations

from typing import Any

from server.errors import HubError, InsufficientCredits, NotFound, Unauthorized, UpstreamError, ValidationFailed

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    501: "invalid_request_error",
}
DEFAULT_RETRY_AFTER = 1  # seconds, when neither we nor the provider know better


def status_of(err: HubError) -> int:
    return 400 if err.http_status == 422 else err.http_status


def _param(loc: list) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query")]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out += f"[{p}]" if p.isdigit() else f".{p}"
    return out


def _code(err: HubError, status: int) -> str | None:
    if isinstance(err, Unauthorized):
        return "invalid_api_key"
    if isinstance(err, InsufficientCredits):
        return "insufficient_credits"
    if isinstance(err, NotFound):
        return "model_not_found" if "odel" in str(err.detail) else "not_found"
    if isinstance(err, UpstreamError):
        return "rate_limit_exceeded" if status == 429 else "upstream_error"
    if isinstance(err, ValidationFailed):
        return err.errors[0].get("type") if err.errors else "invalid_value"
    return None


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) for any exception; unknown ones are a generic 500 that reveals nothing."""
    err = exc if isinstance(exc, HubError) else HubError("Internal server error")
    status = status_of(err)
    param = None
    if isinstance(err, ValidationFailed) and err.errors:
        first = err.errors[0]
        param = _param(list(first.get("loc") or []))
        message = "; ".join(f"{_param(list(e.get('loc') or [])) or 'body'}: {e.get('msg')}" for e in err.errors[:3])
    else:
        message = err.detail if isinstance(err.detail, str) else "Invalid request"
    return status, {
        "error": {
            "message": message,
            "type": _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": param,
            "code": _code(err, status),
        }
    }


def retry_after(exc: BaseException) -> int | None:
    """Seconds for Retry-After on a 429."""
    if not isinstance(exc, HubError) or exc.http_status != 429:
        return None
    value = getattr(exc, "retry_after", None)
    return max(1, int(-(-value // 1))) if value else DEFAULT_RETRY_AFTER


def from_stream_event(event: dict[str, Any]) -> dict[str, Any]:
    """The in-stream error event inference produces ({"type": "error", "error": {message, code, ...}}) in
    OpenAI's body shape, for an error chunk after output has begun."""
    inner = event.get("error") or {}
    status = inner.get("code") if isinstance(inner.get("code"), int) else 500
    code = "rate_limit_exceeded" if status == 429 else ("upstream_error" if inner.get("provider") else None)
    return {
        "error": {
            "message": inner.get("message") or "Internal server error",
            "type": _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": None,
            "code": code,
        }
    }
