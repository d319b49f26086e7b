"""Adapter for Anthropic's Messages API (POST {host}/v1/messages).

Differences from the OpenAI format handled here: system prompts are a top-level `system` string,
`max_tokens` is required, tools carry `input_schema`, tool calls and results are `tool_use` / `tool_result`
blocks, images and PDFs are `image` / `document` blocks, answers are lists of typed content blocks, and streams
are named events (message_start ... message_stop) with usage split between the first and the last event.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from server.errors import UpstreamError, ValidationFailed
from server.providers.base import (
    ChatParams,
    ChatResult,
    Delta,
    ProviderConfig,
    StreamEnd,
    StreamItem,
    TokenCounts,
    ToolCall,
    ToolCallDelta,
)
from server.providers.fetch import FILE_TYPES, IMAGE_TYPES, parse_data_url
from server.providers.http import event_json, open_sse, post_json, stream_ended_early
from server.providers.openai_format import count_of, merge_extra
from server.providers.shapes import Shape, validated

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096  # only when the caller gave none: the API refuses requests without max_tokens

_RESERVED = frozenset({"model", "messages", "stream"})

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# Error types of in-stream `error` events → the gateway's status
_STREAM_ERROR_STATUS = {"overloaded_error": 503, "rate_limit_error": 429, "timeout_error": 504}


# ---------------------------------------------------------------------------------------------- pure translation


def headers(api_key: str) -> dict[str, str]:
    return {"x-api-key": api_key, "anthropic-version": API_VERSION}


# reasoning_effort -> thinking budget (tokens); the API wants at least 1024 and less than max_tokens.
THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
MIN_THINKING_BUDGET = 1024
# Models whose thinking is adaptive-only (`enabled` + budget is refused with 400): effort is sent instead.
ADAPTIVE_ONLY = (
    "claude-opus-4-7",
    "claude-opus-4-8",
    "claude-opus-5",
    "claude-sonnet-5",
    "claude-fable",
    "claude-mythos",
)
# Models without the native JSON-output option (output_config.format): a forced tool carries the answer.
NO_NATIVE_JSON = ("claude-3", "claude-sonnet-4-2", "claude-opus-4-2", "claude-opus-4-1", "claude-opus-4-0")
#: The forced tool whose input is the JSON answer (models without native JSON output, and json_object).
ANSWER_TOOL = "json_answer"


def adaptive_only(model: str) -> bool:
    return model.startswith(ADAPTIVE_ONLY)


def _source(url: str, loc: list, media_types: frozenset[str] | None = None) -> dict[str, Any]:
    """An image / document `source`: base64 from a data URL, else the https URL (the API fetches it)."""
    if inline := parse_data_url(url):
        mime, data = inline
        if media_types is not None and mime not in media_types:
            raise ValidationFailed([{"loc": loc, "msg": f"Unsupported media type '{mime}'", "type": "value_error"}])
        return {"type": "base64", "media_type": mime, "data": data}
    return {"type": "url", "url": url}


def _blocks(content: Any, loc: list) -> list[dict[str, Any]]:
    """OpenAI content (string or parts) → Anthropic content blocks (empty text is left out: the API refuses it)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for j, part in enumerate(content):
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            url = part["image_url"]["url"]
            blocks.append({"type": "image", "source": _source(url, [*loc, j, "image_url", "url"], IMAGE_TYPES)})
        elif kind == "file":
            file = part["file"]
            block = {"type": "document", "source": _source(file["file_data"], [*loc, j, "file"], FILE_TYPES)}
            if file.get("filename"):
                block["title"] = file["filename"]
            blocks.append(block)
    return blocks


def _tool_use(call: dict[str, Any], loc: list) -> dict[str, Any]:
    fn = call.get("function") or {}
    try:
        arguments = json.loads(fn.get("arguments") or "{}")
    except ValueError:
        arguments = None
    if not isinstance(arguments, dict):
        msg = "Tool-call arguments must be a JSON object for this provider"
        raise ValidationFailed([{"loc": [*loc, "function", "arguments"], "msg": msg, "type": "value_error"}])
    return {"type": "tool_use", "id": call["id"], "name": fn["name"], "input": arguments}


def _tool_result(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    text = content if isinstance(content, str) else "\n".join(p.get("text", "") for p in content or [])
    return {"type": "tool_result", "tool_use_id": message["tool_call_id"], "content": text}


def translate_messages(messages: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """(system texts, Anthropic messages). Tool results become `tool_result` blocks; consecutive turns of one
    role are merged, so all results of parallel calls share the one user turn the API requires, first."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        role = message.get("role")
        loc = ["body", "messages", i, "content"]
        if role in ("system", "developer"):
            system.append("\n".join(b["text"] for b in _blocks(message.get("content"), loc) if b["type"] == "text"))
            continue
        if role == "tool":
            turn, blocks = "user", [_tool_result(message)]
        elif role == "assistant":
            turn = "assistant"
            blocks = _blocks(message.get("content"), loc)
            blocks += [
                _tool_use(c, ["body", "messages", i, "tool_calls", k])
                for k, c in enumerate(message.get("tool_calls") or [])
            ]
        else:
            turn, blocks = "user", _blocks(message.get("content"), loc)
        if not blocks:
            continue
        if out and out[-1]["role"] == turn:
            previous = out[-1]["content"]
            # tool results first in a user turn (the API rejects text before them)
            if turn == "user" and blocks[0]["type"] == "tool_result":
                results = [b for b in previous if b["type"] == "tool_result"]
                out[-1]["content"] = results + blocks + [b for b in previous if b["type"] != "tool_result"]
            else:
                previous.extend(blocks)
        else:
            out.append({"role": turn, "content": blocks})
    return system, out


def _tools(params: ChatParams) -> list[dict[str, Any]]:
    tools = []
    for tool in params.tools or []:
        fn = tool["function"]
        out = {"name": fn["name"], "input_schema": fn.get("parameters") or {"type": "object", "properties": {}}}
        if fn.get("description"):
            out["description"] = fn["description"]
        if fn.get("strict") is not None:
            out["strict"] = fn["strict"]
        tools.append(out)
    return tools


def _tool_choice(choice: Any, parallel: bool | None) -> dict[str, Any] | None:
    if choice is None and parallel is None:
        return None
    if isinstance(choice, dict):
        out = {"type": "tool", "name": choice["function"]["name"]}
    else:
        out = {"type": {"required": "any", "none": "none"}.get(choice or "auto", "auto")}
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def uses_answer_tool(params: ChatParams) -> bool:
    """Whether JSON output goes through the forced answer tool (else output_config.format, or no JSON)."""
    fmt = params.response_format
    if not fmt:
        return False
    return fmt["type"] == "json_object" or params.model.startswith(NO_NATIVE_JSON)


def chat_body(params: ChatParams, *, stream: bool, provider: str = "anthropic") -> dict[str, Any]:
    """The JSON body of POST /v1/messages: system and developer messages become the top-level `system`."""
    system, messages = translate_messages(params.messages)
    max_tokens = params.max_tokens or params.output_limit or DEFAULT_MAX_TOKENS
    body: dict[str, Any] = {"model": params.model, "max_tokens": max_tokens, "messages": messages}
    if system:
        body["system"] = "\n\n".join(system)
    if params.temperature is not None:
        body["temperature"] = params.temperature
    if params.top_p is not None:
        body["top_p"] = params.top_p
    # frequency/presence penalties have no Anthropic equivalent and are left out
    if params.stop:
        body["stop_sequences"] = params.stop
    tools = _tools(params)
    choice = _tool_choice(params.tool_choice, params.parallel_tool_calls if tools else None)
    output_config: dict[str, Any] = {}
    fmt = params.response_format
    if fmt and uses_answer_tool(params):
        schema = fmt.get("json_schema", {}).get("schema") or {"type": "object"}
        tools.append(
            {"name": ANSWER_TOOL, "description": "Reply with the answer as this tool's input.", "input_schema": schema}
        )
        choice = {"type": "tool", "name": ANSWER_TOOL}
    elif fmt:
        output_config["format"] = {"type": "json_schema", "schema": fmt["json_schema"]["schema"]}
    if tools:
        body["tools"] = tools
    if choice:
        body["tool_choice"] = choice
    if params.reasoning_effort:
        if adaptive_only(params.model):
            body["thinking"] = {"type": "adaptive"}
            output_config["effort"] = params.reasoning_effort
        else:
            budget = min(THINKING_BUDGETS[params.reasoning_effort], max_tokens - 1)
            body["thinking"] = {"type": "enabled", "budget_tokens": max(budget, MIN_THINKING_BUDGET)}
    if output_config:
        body["output_config"] = output_config
    if stream:
        body["stream"] = True
    return merge_extra(body, params.extra, _RESERVED)


def parse_usage(usage: Any) -> TokenCounts | None:
    """Anthropic counts cache reads and writes apart from input_tokens; ours include them (like OpenAI's)."""
    if not isinstance(usage, dict):
        return None
    cached = count_of(usage, "cache_read_input_tokens")
    return TokenCounts(
        input_tokens=count_of(usage, "input_tokens") + cached + count_of(usage, "cache_creation_input_tokens"),
        output_tokens=count_of(usage, "output_tokens"),
        cached_tokens=cached,
        cache_write_tokens=count_of(usage, "cache_creation_input_tokens"),
    )


def finish_reason(stop_reason: str | None) -> str:
    return STOP_REASONS.get(stop_reason or "end_turn", stop_reason or "stop")


class _Block(Shape):
    type: str
    text: str | None = None
    thinking: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None


class _Message(Shape):
    content: list[_Block]
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None


def _arguments(value: Any) -> str:
    return json.dumps(value if value is not None else {}, ensure_ascii=False, separators=(",", ":"))


def parse_message(data: Any, provider: str = "anthropic", *, answer_tool: bool = False) -> ChatResult:
    """A Message object → ChatResult: text blocks form the text, thinking blocks the reasoning, tool_use
    blocks the tool calls (with `answer_tool`, the forced answer tool's input is the text instead)."""
    message = validated(_Message, data, provider)
    text, reasoning, calls = [], [], []
    for block in message.content:
        if block.type == "text":
            text.append(block.text or "")
        elif block.type == "thinking":
            reasoning.append(block.thinking or "")
        elif block.type == "tool_use":
            if answer_tool and block.name == ANSWER_TOOL:
                text.append(_arguments(block.input))
            else:
                calls.append(
                    ToolCall(
                        id=block.id or f"toolu_{len(calls)}", name=block.name or "", arguments=_arguments(block.input)
                    )
                )
    finish = finish_reason(message.stop_reason)
    if answer_tool and not calls and finish == "tool_calls":
        finish = "stop"
    return ChatResult(
        text="".join(text),
        finish_reason=finish,
        usage=parse_usage(message.usage),
        reasoning="".join(reasoning),
        tool_calls=calls,
    )


def block_delta(data: dict[str, Any]) -> Delta | None:
    """The text or reasoning output carried by a content_block_start / content_block_delta event, if any."""
    piece = data.get("delta") if data.get("type") == "content_block_delta" else data.get("content_block")
    piece = piece if isinstance(piece, dict) else {}
    kind = piece.get("type")
    if kind in ("text_delta", "text") and piece.get("text"):
        return Delta("text", piece["text"])
    if kind in ("thinking_delta", "thinking") and piece.get("thinking"):
        return Delta("reasoning", piece["thinking"])
    return None


class StreamTools:
    """Maps the stream's content-block indexes to tool-call indexes (0, 1, ... in order of appearance)."""

    def __init__(self, answer_tool: bool) -> None:
        self.calls: dict[int, int] = {}
        self.answer_blocks: set[int] = set()
        self.answer_tool = answer_tool

    def item(self, data: dict[str, Any]) -> Delta | ToolCallDelta | None:
        index = data.get("index")
        if data.get("type") == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") != "tool_use":
                return block_delta(data)
            if self.answer_tool and block.get("name") == ANSWER_TOOL:
                self.answer_blocks.add(index)
                return None
            self.calls[index] = len(self.calls)
            return ToolCallDelta(index=self.calls[index], id=block.get("id"), name=block.get("name"))
        delta = data.get("delta") or {}
        if delta.get("type") == "input_json_delta":
            piece = delta.get("partial_json") or ""
            if index in self.answer_blocks:
                return Delta("text", piece) if piece else None
            if index in self.calls and piece:
                return ToolCallDelta(index=self.calls[index], arguments=piece)
            return None
        return block_delta(data)


def stream_error(provider: str, data: dict[str, Any]) -> UpstreamError:
    error = data.get("error") or {}
    status = _STREAM_ERROR_STATUS.get(error.get("type"), 502)
    return UpstreamError(provider, status, error.get("message") or error.get("type") or "error in stream")


# ---------------------------------------------------------------------------------------------- calls


async def chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> ChatResult:
    body = chat_body(params, stream=False, provider=cfg.id)
    data = await post_json(client, cfg.id, f"{cfg.base_url}/v1/messages", headers(api_key), body, byok=byok)
    return parse_message(data, cfg.id, answer_tool=uses_answer_tool(params))


async def stream_chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> AsyncIterator[StreamItem]:
    body = chat_body(params, stream=True, provider=cfg.id)
    answer_tool = uses_answer_tool(params)
    tools = StreamTools(answer_tool)
    url = f"{cfg.base_url}/v1/messages"
    usage: dict[str, Any] = {}  # message_start's usage, updated by message_delta's cumulative counts
    stop_reason: str | None = None
    stopped = False
    async with open_sse(client, cfg.id, url, headers(api_key), body, byok=byok) as events:
        async for event in events:  # read to the end (not just message_stop) so the connection can be reused
            if stopped or not event.data.strip():
                continue
            data = event_json(cfg.id, event)
            if not isinstance(data, dict):
                raise UpstreamError(cfg.id, 502, "malformed stream event")
            kind = data.get("type") or event.event
            if kind in ("content_block_start", "content_block_delta"):
                if item := tools.item(data):
                    yield item
            elif kind == "message_start":
                usage.update((data.get("message") or {}).get("usage") or {})
            elif kind == "message_delta":
                stop_reason = (data.get("delta") or {}).get("stop_reason") or stop_reason
                usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            elif kind == "message_stop":
                stopped = True
            elif kind == "error":
                raise stream_error(cfg.id, data)
    if not stopped:
        raise stream_ended_early(cfg.id)
    finish = finish_reason(stop_reason)
    if answer_tool and finish == "tool_calls" and not tools.calls:
        finish = "stop"
    yield StreamEnd(finish_reason=finish, usage=parse_usage(usage) if usage else None)
