"""Pure builders of the documented response body and stream events (Responses-API shaped)."""

from __future__ import annotations

from typing import Any

from server.domain.money import nanos_to_usd
from server.providers.base import TokenCounts, ToolCall


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


def call_item_id(response_id: str, index: int) -> str:
    return f"fc_{response_id.removeprefix('resp_')}_{index}"


def function_call_item(response_id: str, index: int, call: ToolCall, status: str) -> dict[str, Any]:
    """One tool call as a Responses-API `function_call` output item (arguments: the JSON text as written)."""
    return {
        "type": "function_call",
        "id": call_item_id(response_id, index),
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments,
        "status": status,
    }


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
    tool_calls: list[ToolCall] | None = None,
    call_status: str = "completed",
) -> dict[str, Any]:
    """The whole response; `status` is completed, incomplete (length), stopped or in_progress. Each tool
    call is one `function_call` item after the message item, in the order the model made them."""
    item_status = "completed" if status in ("completed", "incomplete") else status
    body: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "model": model,
        "provider": provider,
        "duration_ms": round(duration_ms, 3),
        "output": []
        if status == "in_progress"
        else [
            output_item(response_id, text, item_status),
            *(function_call_item(response_id, i + 1, c, call_status) for i, c in enumerate(tool_calls or [])),
        ],
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


def call_added_event(response_id: str, output_index: int, call: ToolCall) -> dict[str, Any]:
    """A tool call began: its item with empty arguments (they follow as deltas)."""
    item = function_call_item(response_id, output_index, ToolCall(call.id, call.name, ""), "in_progress")
    return {"type": "response.output_item.added", "output_index": output_index, "item": item}


def call_arguments_delta_event(response_id: str, output_index: int, delta: str) -> dict[str, Any]:
    return {
        "type": "response.function_call_arguments.delta",
        "item_id": call_item_id(response_id, output_index),
        "output_index": output_index,
        "delta": delta,
    }


def call_arguments_done_event(response_id: str, output_index: int, arguments: str) -> dict[str, Any]:
    return {
        "type": "response.function_call_arguments.done",
        "item_id": call_item_id(response_id, output_index),
        "output_index": output_index,
        "arguments": arguments,
    }


def call_done_event(response_id: str, output_index: int, call: ToolCall, status: str) -> dict[str, Any]:
    item = function_call_item(response_id, output_index, call, status)
    return {"type": "response.output_item.done", "output_index": output_index, "item": item}


class ToolCallEvents:
    """Turns streamed ToolCallDelta pieces into the documented function-call events: item added (once per
    call), argument deltas as they come (concatenating exactly to the arguments), and arguments done + item
    done when the next call starts or the stream ends. Call `index` i is output item i + 1."""

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id
        self.calls: list[ToolCall] = []
        self._by_index: dict[int, int] = {}  # the provider's call index -> position in self.calls
        self._open: int | None = None  # position of the call whose events are not finished

    def feed(self, index: int, call_id: str | None, name: str | None, arguments: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        position = self._by_index.get(index)
        if position is None:
            events += self._finish_open("completed")
            position = self._by_index[index] = len(self.calls)
            self.calls.append(ToolCall(call_id or f"call_{self.response_id}_{index}", name or "", ""))
            self._open = position
            events.append(call_added_event(self.response_id, position + 1, self.calls[position]))
        elif name and not self.calls[position].name:
            self.calls[position].name = name
        if arguments:
            self.calls[position].arguments += arguments
            events.append(call_arguments_delta_event(self.response_id, position + 1, arguments))
        return events

    def _finish_open(self, status: str) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        position, self._open = self._open, None
        call = self.calls[position]
        return [
            call_arguments_done_event(self.response_id, position + 1, call.arguments),
            call_done_event(self.response_id, position + 1, call, status),
        ]

    def finish(self, status: str = "completed") -> list[dict[str, Any]]:
        """The closing events of the call still open (status incomplete when the stream was cut short)."""
        return self._finish_open(status)

    @property
    def arguments_text(self) -> str:
        return "".join(c.name + c.arguments for c in self.calls)
