"""POST /v1/chat/completions: the OpenAI request into ChatParams, inference's answers into `chat.completion`
and `chat.completion.chunk` objects (tool-call deltas indexed as OpenAI does, a usage chunk on request)."""

from __future__ import annotations

from typing import Any

from server.domain.openai_surface import common
from server.domain.openai_surface.errors import from_stream_event
from server.domain.openai_surface.fields import Body
from server.domain.validation import Checker, check_messages
from server.providers.base import ChatParams

_ROLES = ("system", "developer", "user", "assistant", "tool")
# reasoning_content: DeepSeek's thinking mode wants it back on assistant turns with tool calls (the adapter
# drops it for everyone else); `name` is not forwarded (Groq rejects it).
_MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "refusal", "reasoning_content")
_TOOL_CHOICES = ("none", "auto", "required")
_FORMATS = ("text", "json_object", "json_schema")


def _messages(body: Body) -> list[dict[str, Any]]:
    raw = body.array("messages", required=True)
    if raw is None:
        return []
    messages: list[dict[str, Any]] = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            body.fail(["messages", i], "Each message must be an object", "invalid_type")
            continue
        message = {k: m[k] for k in _MESSAGE_KEYS if m.get(k) is not None}
        if m.get("role") == "assistant" and "content" not in message:
            message["content"] = None
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            body.fail(["messages", i, "content"], "content must be a string or a list of parts", "invalid_type")
        if m.get("role") == "tool" and not isinstance(m.get("tool_call_id"), str):
            body.fail(
                ["messages", i, "tool_call_id"], "A tool message needs its 'tool_call_id'", "missing_required_parameter"
            )
        for j, call in enumerate(m.get("tool_calls") or []):
            if not isinstance(call, dict) or not isinstance(call.get("id"), str):
                body.fail(["messages", i, "tool_calls", j], "A tool call needs an 'id'", "missing_required_parameter")
            else:
                common.check_function(body, ["messages", i, "tool_calls", j, "function"], call.get("function"))
        messages.append(message)
    checker = Checker()
    check_messages(checker, messages)
    for e in checker.errors:
        body.fail(e["loc"][1:], e["msg"], "invalid_value")
    return messages


def _tools(body: Body) -> list[dict[str, Any]] | None:
    tools = body.array("tools")
    for i, tool in enumerate(tools or []):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            body.fail(["tools", i, "type"], "Only tools of type 'function' are supported", "invalid_value")
        else:
            common.check_function(body, ["tools", i, "function"], tool.get("function"))
    return tools or None


def check_tool_choice(body: Body, choice: Any, named: Any) -> None:
    if choice is None or choice in _TOOL_CHOICES:
        return
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(named, str):
        return
    body.fail("tool_choice", "tool_choice must be 'none', 'auto', 'required' or a function to call", "invalid_value")


def _response_format(body: Body) -> dict[str, Any] | None:
    fmt = body.obj("response_format")
    if fmt is None:
        return None
    kind = fmt.get("type")
    if kind not in _FORMATS:
        body.fail(["response_format", "type"], f"type must be one of {', '.join(_FORMATS)}", "invalid_value")
        return None
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            body.fail(["response_format", "json_schema"], "json_schema needs a 'name' and a 'schema'", "invalid_value")
    return None if kind == "text" else fmt


def _stop(body: Body) -> list[str] | None:
    stop = body.raw("stop")
    if stop is None:
        return None
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops) or len(stops) > 4:
        body.fail("stop", "stop must be a string or a list of up to 4 strings", "invalid_type")
        return None
    return stops


def parse(data: dict[str, Any]) -> common.Request:
    """The request body (already a JSON object) as the domain takes it; every problem at once as a 400."""
    body = Body(data, common.IGNORED)
    model = body.string("model", required=True)
    messages = _messages(body)
    n = body.integer("n", 1, 128)
    if n not in (None, 1):
        body.fail("n", "Only n=1 is supported by this gateway", "unsupported_value")
    if body.boolean("logprobs"):
        body.fail("logprobs", "logprobs are not supported by this gateway", "unsupported_value")
    body.integer("top_logprobs", 0, 20)
    modalities = body.array("modalities")
    if modalities and modalities != ["text"]:
        body.fail("modalities", "Only text output is supported on /v1/chat/completions", "unsupported_value")
    if body.obj("logit_bias"):
        body.fail("logit_bias", "logit_bias is not supported by this gateway", "unsupported_value")
    stream_options = body.obj("stream_options") or {}
    max_tokens = body.integer("max_tokens")
    max_completion = body.integer("max_completion_tokens")
    tool_choice = body.raw("tool_choice")
    check_tool_choice(
        body,
        tool_choice,
        (tool_choice or {}).get("function", {}).get("name") if isinstance(tool_choice, dict) else None,
    )
    params = ChatParams(
        model="",
        messages=messages,
        temperature=body.number("temperature", 0, 2),
        max_tokens=max_completion or max_tokens,
        top_p=body.number("top_p", 0, 1),
        frequency_penalty=body.number("frequency_penalty", -2, 2),
        presence_penalty=body.number("presence_penalty", -2, 2),
        tools=_tools(body),
        tool_choice=tool_choice,
        parallel_tool_calls=body.boolean("parallel_tool_calls"),
        response_format=_response_format(body),
        stop=_stop(body),
        seed=body.integer("seed", -(2**63), 2**63 - 1),
        reasoning_effort=body.string("reasoning_effort", choices=common.REASONING_EFFORTS),
    )
    stream = bool(body.boolean("stream"))
    byok, session_id, extra = common.extensions(body, fallbacks=True)
    body.done()
    return common.Request(
        model=model or "",
        params=params,
        stream=stream,
        include_usage=bool(stream_options.get("include_usage")),
        byok_key=byok,
        session_id=session_id,
        echo={},
        extra=extra,
    )


def completion_id(response_id: str) -> str:
    return "chatcmpl-" + response_id.removeprefix("resp_")


def usage(body_usage: dict[str, Any] | None) -> dict[str, Any]:
    inp, out, cached, reasoning = common.usage_tokens(body_usage)
    return {
        "prompt_tokens": inp,
        "completion_tokens": out,
        "total_tokens": inp + out,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_call(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item.get("call_id") or item.get("id"),
        "type": "function",
        "function": {"name": item.get("name"), "arguments": item.get("arguments") or ""},
    }


def completion(body: dict[str, Any]) -> dict[str, Any]:
    """inference.run_unary's body as a `chat.completion`."""
    text, calls = common.output_parts(body)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if (text or not calls) else None,
        "refusal": None,
        "annotations": [],
    }
    if calls:
        message["tool_calls"] = [_tool_call(c) for c in calls]
    return {
        "id": completion_id(body["id"]),
        "object": "chat.completion",
        "created": body["created_at"],
        "model": common.model_name(body),
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": common.finish_reason(body.get("finish_reason"), bool(calls)),
            }
        ],
        "usage": usage(body.get("usage")),
        "service_tier": "default",
        "system_fingerprint": None,
    }


class ChunkStream:
    """Turns inference.run_stream's events into chat.completion.chunk objects (and error bodies), in order."""

    def __init__(self, include_usage: bool):
        self.include_usage = include_usage
        self.head: dict[str, Any] = {}
        self.calls: dict[Any, int] = {}  # inference's output_index / item id of a function call -> tool-call index
        self.count = 0  # tool calls so far: OpenAI numbers them 0, 1, ... within the choice
        self.failed = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        chunk = {
            **self.head,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "response.created":
            response = event["response"]
            self.head = {
                "id": completion_id(response["id"]),
                "object": "chat.completion.chunk",
                "created": response["created_at"],
                "model": common.model_name(response),
                "service_tier": "default",
                "system_fingerprint": None,
            }
            return [self._chunk({"role": "assistant", "content": "", "refusal": None})]
        if kind == "response.content_part.delta" or kind == "response.output_text.delta":
            return [self._chunk({"content": event.get("delta") or ""})]
        if kind == "response.output_item.added" and (event.get("item") or {}).get("type") == "function_call":
            item = event["item"]
            index = self.count
            self.count += 1
            self.calls[event.get("output_index")] = self.calls[item.get("id")] = index
            call = {
                "index": index,
                "id": item.get("call_id") or item.get("id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments") or ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        if kind == "response.function_call_arguments.delta":
            index = self.calls.get(event.get("item_id"), self.calls.get(event.get("output_index"), 0))
            return [
                self._chunk({"tool_calls": [{"index": index, "function": {"arguments": event.get("delta") or ""}}]})
            ]
        if kind == "error":
            self.failed = True
            return [from_stream_event(event)]
        if kind == "response.done" and not self.failed:
            response = event["response"]
            out = [self._chunk({}, common.finish_reason(response.get("finish_reason"), self.count > 0))]
            if self.include_usage:
                out.append({**self.head, "choices": [], "usage": usage(response.get("usage"))})
            return out
        return []
