"""OpenAI chat through the Responses API (POST {base}/responses), for the models whose catalog entry says
`upstreamApi: "responses"`: OpenAI's newest models take function calling together with reasoning only there.

The same internal form as the chat-completions adapter, translated: messages become `input` items (tool
calls `function_call`, tool results `function_call_output`, parts `input_text` / `input_image` /
`input_file`), tools are flat (`name` at the top), JSON output is `text.format`, reasoning is
`reasoning.effort`, the cap is `max_output_tokens`. Streams are typed events (`response.output_text.delta`,
`response.function_call_arguments.delta`, ... `response.completed`). Nothing is stored upstream (`store: false`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from server.errors import UpstreamError
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
from server.providers.http import event_json, open_sse, post_json, stream_ended_early
from server.providers.media_inputs import inline_remote_files
from server.providers.openai_format import count_of, headers, merge_extra
from server.providers.shapes import Shape, validated

_RESERVED = frozenset({"model", "input", "stream", "store", "messages"})


# ---------------------------------------------------------------------------------------------- pure translation


def _input_parts(content: Any) -> str | list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return content or ""
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "input_text", "text": part.get("text", "")})
        elif kind == "image_url":
            image = {"type": "input_image", "image_url": part["image_url"]["url"]}
            image["detail"] = part["image_url"].get("detail") or "auto"
            parts.append(image)
        elif kind == "file":
            file = {"type": "input_file", "file_data": part["file"]["file_data"]}
            if part["file"].get("filename"):
                file["filename"] = part["file"]["filename"]
            parts.append(file)
    return parts


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") for p in content or [] if isinstance(p, dict))


def input_items(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message["tool_call_id"],
                    "output": _text(message.get("content")),
                }
            )
            continue
        if role == "assistant":
            if text := _text(message.get("content")):
                items.append({"type": "message", "role": "assistant", "content": text})
            for call in message.get("tool_calls") or []:
                fn = call["function"]
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call["id"],
                        "name": fn["name"],
                        "arguments": fn.get("arguments") or "{}",
                    }
                )
            continue
        items.append(
            {
                "type": "message",
                "role": role if role in ("system", "developer") else "user",
                "content": _input_parts(message.get("content")),
            }
        )
    return items


def _tools(params: ChatParams) -> list[dict[str, Any]] | None:
    if not params.tools:
        return None
    out = []
    for tool in params.tools:
        fn = tool["function"]
        out.append(
            {
                "type": "function",
                "name": fn["name"],
                "description": fn.get("description"),
                "parameters": fn.get("parameters") or {"type": "object", "properties": {}},
                "strict": bool(fn.get("strict", False)),
            }
        )
    return out


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict):
        return {"type": "function", "name": choice["function"]["name"]}
    return choice


def _text_format(fmt: dict[str, Any] | None) -> dict[str, Any] | None:
    if not fmt:
        return None
    if fmt["type"] == "json_schema":
        spec = fmt["json_schema"]
        out = {"type": "json_schema", "name": spec["name"], "schema": spec["schema"]}
        if spec.get("strict") is not None:
            out["strict"] = spec["strict"]
        if spec.get("description"):
            out["description"] = spec["description"]
        return {"format": out}
    return {"format": {"type": fmt["type"]}}


def request_body(params: ChatParams, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": params.model, "input": input_items(params.messages), "store": False}
    optional = {
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_output_tokens": params.max_tokens,
        "tools": _tools(params),
        "tool_choice": _tool_choice(params.tool_choice),
        "parallel_tool_calls": params.parallel_tool_calls,
        "text": _text_format(params.response_format),
        "reasoning": {"effort": params.reasoning_effort} if params.reasoning_effort else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if stream:
        body["stream"] = True
    return merge_extra(body, params.extra, _RESERVED)


# -- the answer's shape


class _Part(Shape):
    type: str
    text: str | None = None


class _Item(Shape):
    type: str
    id: str | None = None
    content: list[_Part] | None = None
    summary: list[_Part] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None


class _Incomplete(Shape):
    reason: str | None = None


class _Response(Shape):
    status: str | None = None
    output: list[_Item]
    usage: dict[str, Any] | None = None
    incomplete_details: _Incomplete | None = None
    error: dict[str, Any] | None = None


def parse_usage(usage: Any) -> TokenCounts | None:
    if not isinstance(usage, dict):
        return None
    inp = usage.get("input_tokens_details") if isinstance(usage.get("input_tokens_details"), dict) else {}
    out = usage.get("output_tokens_details") if isinstance(usage.get("output_tokens_details"), dict) else {}
    return TokenCounts(
        input_tokens=count_of(usage, "input_tokens"),
        output_tokens=count_of(usage, "output_tokens"),
        cached_tokens=count_of(inp, "cached_tokens"),
        reasoning_tokens=count_of(out, "reasoning_tokens"),
    )


def _finish(response: _Response, has_calls: bool) -> str:
    if response.status == "incomplete":
        reason = response.incomplete_details.reason if response.incomplete_details else None
        return "content_filter" if reason == "content_filter" else "length"
    return "tool_calls" if has_calls else "stop"


def parse_response(data: Any, provider: str = "openai") -> ChatResult:
    response = validated(_Response, data, provider)
    if response.status == "failed":
        raise UpstreamError(provider, 502, str((response.error or {}).get("message") or "the response failed"))
    text, reasoning, calls = [], [], []
    for item in response.output:
        if item.type == "message":
            text += [p.text or "" for p in item.content or [] if p.type == "output_text"]
        elif item.type == "reasoning":
            reasoning += [p.text or "" for p in item.summary or []]
        elif item.type == "function_call":
            calls.append(
                ToolCall(id=item.call_id or item.id or "", name=item.name or "", arguments=item.arguments or "")
            )
    return ChatResult(
        text="".join(text),
        finish_reason=_finish(response, bool(calls)),
        usage=parse_usage(response.usage),
        reasoning="".join(reasoning),
        tool_calls=calls,
    )


# ---------------------------------------------------------------------------------------------- calls


async def chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> ChatResult:
    params = await inline_remote_files(client, params, images=False)
    body = request_body(params, stream=False)
    data = await post_json(client, cfg.id, f"{cfg.base_url}/responses", headers(api_key), body, byok=byok)
    return parse_response(data, cfg.id)


async def stream_chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> AsyncIterator[StreamItem]:
    params = await inline_remote_files(client, params, images=False)
    body = request_body(params, stream=True)
    calls: dict[int, int] = {}  # output_index of a function_call item -> our call index
    end: StreamEnd | None = None
    async with open_sse(client, cfg.id, f"{cfg.base_url}/responses", headers(api_key), body, byok=byok) as events:
        async for event in events:
            if end is not None or not event.data.strip():
                continue
            data = event_json(cfg.id, event)
            if not isinstance(data, dict):
                raise UpstreamError(cfg.id, 502, "malformed stream event")
            kind = data.get("type") or event.event
            if kind == "response.output_text.delta" and data.get("delta"):
                yield Delta("text", str(data["delta"]))
            elif kind == "response.reasoning_summary_text.delta" and data.get("delta"):
                yield Delta("reasoning", str(data["delta"]))
            elif kind == "response.output_item.added" and (data.get("item") or {}).get("type") == "function_call":
                item = data["item"]
                calls[data.get("output_index", len(calls))] = len(calls)
                yield ToolCallDelta(
                    index=calls[data.get("output_index", len(calls) - 1)],
                    id=item.get("call_id"),
                    name=item.get("name"),
                    arguments=item.get("arguments") or "",
                )
            elif kind == "response.function_call_arguments.delta" and data.get("output_index") in calls:
                if data.get("delta"):
                    yield ToolCallDelta(index=calls[data["output_index"]], arguments=str(data["delta"]))
            elif kind in ("response.completed", "response.incomplete"):
                response = validated(_Response, data.get("response"), cfg.id)
                end = StreamEnd(finish_reason=_finish(response, bool(calls)), usage=parse_usage(response.usage))
            elif kind in ("response.failed", "error"):
                error = (data.get("response") or {}).get("error") or data.get("error") or data
                message = error.get("message") if isinstance(error, dict) else None
                raise UpstreamError(cfg.id, 502, message or "the response failed")
    if end is None:
        raise stream_ended_early(cfg.id)
    yield end
