"""Pure builders of the documented response body and stream events (Responses-API shaped)."""

from __future__ import annotations

from typing import Any

from server.domain.money import nanos_to_usd
from server.providers.base import TokenCounts


def usage_dict(tokens: TokenCounts, cost_nanos: int) -> dict[str, Any]:
    return {
        "input_tokens": tokens.input_tokens,
        "input_tokens_details": {"cached_tokens": tokens.cached_tokens},
        "output_tokens": tokens.output_tokens,
        "output_tokens_details": {"reasoning_tokens": tokens.reasoning_tokens},
        "total_tokens": tokens.input_tokens + tokens.output_tokens,
        "cost": nanos_to_usd(cost_nanos),
    }


def item_id(response_id: str) -> str:
    return "msg_" + response_id.removeprefix("resp_")


def output_item(response_id: str, text: str | None, status: str) -> dict[str, Any]:
    content = [] if text is None else [{"type": "output_text", "text": text, "annotations": []}]
    return {"id": item_id(response_id), "type": "message", "status": status, "role": "assistant", "content": content}


def response_body(
    *,
    response_id: str,
    created_at: int,
    model: str,
    provider: str,
    status: str,
    text: str,
    usage: dict[str, Any] | None,
    duration_ms: float,
    finish_reason: str | None,
    message: str = "",
) -> dict[str, Any]:
    """The whole response; `status` is completed, incomplete (length), stopped or in_progress."""
    item_status = "completed" if status in ("completed", "incomplete") else status
    body: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "model": model,
        "provider": provider,
        "duration_ms": round(duration_ms, 3),
        "output": [] if status == "in_progress" else [output_item(response_id, text, item_status)],
        "usage": usage,
        "status": status,
        "request_id": response_id,
        "success": status != "failed",
        "finish_reason": finish_reason,
        "data": text,
        "message": message,
    }
    return body


def created_event(response: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.created", "response": response}


def item_added_event(response_id: str) -> dict[str, Any]:
    return {
        "type": "response.output_item.added",
        "output_index": 0,
        "item": output_item(response_id, None, "in_progress"),
    }


def part_added_event(response_id: str) -> dict[str, Any]:
    return {
        "type": "response.content_part.added",
        "item_id": item_id(response_id),
        "output_index": 0,
        "content_index": 0,
        "part": {"type": "output_text", "text": "", "annotations": []},
    }


def reasoning_started_event(response_id: str) -> dict[str, Any]:
    return {"type": "response.reasoning.started", "item_id": item_id(response_id), "output_index": 0}


def reasoning_delta_event(response_id: str, delta: str) -> dict[str, Any]:
    return {"type": "response.reasoning.delta", "item_id": item_id(response_id), "output_index": 0, "delta": delta}


def text_delta_event(response_id: str, delta: str) -> dict[str, Any]:
    return {
        "type": "response.content_part.delta",
        "item_id": item_id(response_id),
        "output_index": 0,
        "content_index": 0,
        "delta": delta,
    }


def item_done_event(response_id: str, text: str, status: str) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": 0, "item": output_item(response_id, text, status)}


def done_event(response: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.done", "response": response}
