"""Stream errors in OpenAI's shape. Errors before any output are built by `server.errors` (style "openai");
inference reports a failure after output as its own error event, which becomes OpenAI's body here."""

from __future__ import annotations

from typing import Any

from server.errors import HubError, UpstreamError, sse_error_event


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
