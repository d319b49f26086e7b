"""Stream errors in OpenAI's shape. Errors before any output are built by `server.errors` (style "openai");
inference reports a failure after output as its own error event, which becomes OpenAI's body here."""

from __future__ import annotations

from typing import Any

from server.errors import HubError, UpstreamError, ValidationFailed, sse_error_event


def from_stream_event(event: dict[str, Any]) -> dict[str, Any]:
    """inference's in-stream error event ({"type": "error", "error": {message, type, code, provider?}}) as the
    `{"error": {...}}` body the SDKs raise on mid-stream."""
    inner = event.get("error") or {}
    status = inner.get("code") if isinstance(inner.get("code"), int) else 500
    message = inner.get("message") or "Internal server error"
    err = UpstreamError(inner["provider"], status, "") if inner.get("provider") else HubError(message)
    err.http_status = status
    body = sse_error_event(err, "openai")
    body["error"]["message"] = message
    return body


def on_surface(exc: BaseException, renames: dict[str, str] | None = None) -> BaseException:
    """A validation error of the shared domain located where an OpenAI caller put the field: the domain reads
    agentic options from `additional_params` and names `max_tokens` / `messages`, which are top-level
    `reasoning_effort`, `max_output_tokens` and `input` on this surface."""
    if not isinstance(exc, ValidationFailed):
        return exc
    renames = renames or {}
    errors = []
    for e in exc.errors:
        loc = list(e.get("loc") or [])
        if loc[:2] == ["body", "additional_params"] and len(loc) > 2:
            loc = ["body", *loc[2:]]
        if len(loc) > 1 and loc[0] == "body" and loc[1] in renames:
            loc[1] = renames[loc[1]]
        errors.append({**e, "loc": loc})
    return ValidationFailed(errors)
