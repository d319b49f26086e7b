"""Adapter for the Google Gemini API (generativelanguage.googleapis.com, v1beta).

Gemini names things differently: `contents` with roles user/model, a separate `systemInstruction`,
`generationConfig` for sampling and JSON output, `functionDeclarations` / `functionCall` / `functionResponse`
for tools, `inlineData` parts for images and PDFs, and streams whose every SSE frame is a whole GenerateContentResponse,
ending without a [DONE] marker (the frame with a `finishReason` is the last).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

from server.errors import UpstreamError, ValidationFailed
from server.providers.base import (
    ChatParams,
    ChatResult,
    Delta,
    EmbeddingResult,
    ProviderConfig,
    StreamEnd,
    StreamItem,
    TokenCounts,
    ToolCall,
    ToolCallDelta,
)
from server.providers.fetch import parse_data_url
from server.providers.http import event_json, open_sse, post_json, stream_ended_early
from server.providers.media_inputs import inline_remote_files
from server.providers.openai_format import count_of, merge_extra
from server.providers.shapes import Shape, validated

_RESERVED = frozenset({"model", "contents", "stream"})

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


# ---------------------------------------------------------------------------------------------- pure translation


def headers(api_key: str) -> dict[str, str]:
    return {"x-goog-api-key": api_key}


def model_url(base_url: str, model: str, method: str) -> str:
    """{base}/v1beta/models/{model}:{method}; a leading "models/" in the model id is tolerated."""
    model = model.removeprefix("models/")
    return f"{base_url}/v1beta/models/{quote(model, safe='-._~')}:{method}"


# reasoning_effort → thinkingConfig: Gemini 3 models take a thinking level, Gemini 2.x a token budget.
THINKING_BUDGETS = {"low": 1024, "medium": 8192, "high": 24576}
TOOL_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}

# Gemini 3 puts a thoughtSignature on functionCall parts and refuses the next turn unless it comes back on the
# same part. Callers send back only the tool call id, so the signature travels inside the id the gateway hands
# out: "<id>__ts__<signature, base64url>". Stateless: it survives restarts and works whichever replica serves
# the next turn; the id stays within [A-Za-z0-9_-] (what Anthropic accepts, should the conversation move there).
_SIGNATURE_MARK = "__ts__"


def call_id_with_signature(call_id: str, signature: Any) -> str:
    if not isinstance(signature, str) or not signature:
        return call_id
    return call_id + _SIGNATURE_MARK + signature.replace("+", "-").replace("/", "_").rstrip("=")


def signature_of(call_id: str) -> str | None:
    """The thoughtSignature carried by a call id the gateway made, else None."""
    if _SIGNATURE_MARK not in call_id:
        return None
    encoded = call_id.split(_SIGNATURE_MARK, 1)[1].replace("-", "+").replace("_", "/")
    return encoded + "=" * (-len(encoded) % 4)


def _parts(content: Any) -> list[dict[str, Any]]:
    """OpenAI content → Gemini parts (https images / files were already made data URLs by the adapter)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts = []
    for part in content:
        kind = part.get("type")
        if kind == "text" and part.get("text"):
            parts.append({"text": part["text"]})
        elif kind in ("image_url", "file"):
            url = part["image_url"]["url"] if kind == "image_url" else part["file"]["file_data"]
            mime, data = parse_data_url(url) or ("", "")
            parts.append({"inlineData": {"mimeType": mime, "data": data}})
    return parts


def _call_part(call: dict[str, Any], loc: list) -> dict[str, Any]:
    fn = call.get("function") or {}
    try:
        args = json.loads(fn.get("arguments") or "{}")
    except ValueError:
        args = None
    if not isinstance(args, dict):
        msg = "Tool-call arguments must be a JSON object for this provider"
        raise ValidationFailed([{"loc": [*loc, "function", "arguments"], "msg": msg, "type": "value_error"}])
    part: dict[str, Any] = {"functionCall": {"name": fn["name"], "args": args}}
    if signature := signature_of(call["id"]):
        part["thoughtSignature"] = signature
    return part


def translate_messages(messages: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """(system texts, contents). A tool result becomes a functionResponse named after the earlier call with
    its tool_call_id; consecutive turns of one role are merged (parallel results share one user turn)."""
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for i, message in enumerate(messages):
        role = message.get("role")
        if role in ("system", "developer"):
            system.append("\n".join(p["text"] for p in _parts(message.get("content")) if "text" in p))
            continue
        if role == "tool":
            content = message.get("content")
            output = content if isinstance(content, str) else "\n".join(p.get("text", "") for p in content or [])
            name = names.get(message["tool_call_id"], "")
            turn, parts = "user", [{"functionResponse": {"name": name, "response": {"output": output}}}]
        elif role == "assistant":
            turn, parts = "model", _parts(message.get("content"))
            for k, call in enumerate(message.get("tool_calls") or []):
                names[call["id"]] = (call.get("function") or {}).get("name", "")
                parts.append(_call_part(call, ["body", "messages", i, "tool_calls", k]))
        else:
            turn, parts = "user", _parts(message.get("content"))
        if not parts:
            continue
        if contents and contents[-1]["role"] == turn:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": turn, "parts": parts})
    return system, contents


def _tool_config(params: ChatParams) -> dict[str, Any] | None:
    choice = params.tool_choice
    if choice is None:
        return None
    if isinstance(choice, dict):
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice["function"]["name"]]}}
    return {"functionCallingConfig": {"mode": TOOL_MODES[choice]}}


def thinking_config(model: str, effort: str) -> dict[str, Any]:
    if model.removeprefix("models/").startswith("gemini-2"):
        return {"thinkingBudget": THINKING_BUDGETS[effort]}
    return {"thinkingLevel": effort.upper()}


def chat_body(params: ChatParams, provider: str = "google") -> dict[str, Any]:
    """The JSON body of generateContent / streamGenerateContent (the same for both)."""
    system, contents = translate_messages(params.messages)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    if params.tools:
        declarations = []
        for tool in params.tools:
            fn = tool["function"]
            declaration = {"name": fn["name"], "description": fn.get("description") or ""}
            if fn.get("parameters"):
                declaration["parametersJsonSchema"] = fn["parameters"]
            declarations.append(declaration)
        body["tools"] = [{"functionDeclarations": declarations}]
    if tool_config := _tool_config(params):
        body["toolConfig"] = tool_config
    config: dict[str, Any] = {
        "temperature": params.temperature,
        "maxOutputTokens": params.max_tokens,
        "topP": params.top_p,
        "frequencyPenalty": params.frequency_penalty,
        "presencePenalty": params.presence_penalty,
        "stopSequences": params.stop,
        "seed": params.seed,
    }
    if fmt := params.response_format:
        config["responseMimeType"] = "application/json"
        if fmt["type"] == "json_schema":
            config["responseJsonSchema"] = fmt["json_schema"]["schema"]
    if params.reasoning_effort:
        config["thinkingConfig"] = thinking_config(params.model, params.reasoning_effort)
    config = {k: v for k, v in config.items() if v is not None}
    extra_config = params.extra.get("generationConfig")
    if isinstance(extra_config, dict):  # e.g. thinkingConfig from additional_params; our fields win
        config = {**extra_config, **config}
    if config:
        body["generationConfig"] = config
    return merge_extra(body, params.extra, _RESERVED)


def parse_usage(meta: Any) -> TokenCounts | None:
    """usageMetadata → TokenCounts; output includes thinking tokens (like OpenAI's completion_tokens)."""
    if not isinstance(meta, dict):
        return None
    thoughts = count_of(meta, "thoughtsTokenCount")
    return TokenCounts(
        input_tokens=count_of(meta, "promptTokenCount"),
        output_tokens=count_of(meta, "candidatesTokenCount") + thoughts,
        cached_tokens=count_of(meta, "cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


def finish_reason(reason: str | None) -> str:
    return FINISH_REASONS.get(reason or "STOP", (reason or "stop").lower())


class _FunctionCall(Shape):
    name: str
    args: dict[str, Any] | None = None
    id: str | None = None


class _Part(Shape):
    text: str | None = None
    thought: bool | None = None
    functionCall: _FunctionCall | None = None  # noqa: N815 (the API's name)
    thoughtSignature: str | None = None  # noqa: N815


class _Content(Shape):
    parts: list[_Part] | None = None


class _Candidate(Shape):
    content: _Content | None = None
    finishReason: str | None = None  # noqa: N815


class _Feedback(Shape):
    blockReason: str | None = None  # noqa: N815


class _Response(Shape):
    candidates: list[_Candidate] | None = None
    promptFeedback: _Feedback | None = None  # noqa: N815
    usageMetadata: dict[str, Any] | None = None  # noqa: N815
    responseId: str | None = None  # noqa: N815


class Frames:
    """Reads GenerateContentResponse frames; numbers tool calls across a stream and makes up ids for calls
    the API sent without one."""

    def __init__(self, provider: str = "google") -> None:
        self.provider = provider
        self.calls = 0

    def parse(self, data: Any, *, final: bool) -> tuple[list[Delta | ToolCallDelta], str | None, TokenCounts | None]:
        """One frame → its output pieces, its finish reason (None if not final), its usage. A whole answer
        (`final`) without candidates must carry a block reason, else it is malformed (502)."""
        frame = validated(_Response, data, self.provider)
        deltas: list[Delta | ToolCallDelta] = []
        finish = None
        if frame.candidates:
            candidate = frame.candidates[0]
            for part in (candidate.content.parts if candidate.content else None) or []:
                if part.functionCall is not None:
                    call = part.functionCall
                    call_id = call_id_with_signature(call.id or f"call_{uuid.uuid4().hex[:24]}", part.thoughtSignature)
                    arguments = json.dumps(call.args or {}, ensure_ascii=False, separators=(",", ":"))
                    deltas.append(ToolCallDelta(index=self.calls, id=call_id, name=call.name, arguments=arguments))
                    self.calls += 1
                elif part.text:
                    deltas.append(Delta("reasoning" if part.thought else "text", part.text))
            if candidate.finishReason:
                finish = finish_reason(candidate.finishReason)
                if self.calls and finish == "stop":
                    finish = "tool_calls"  # Gemini has no tool-call finish reason
        elif frame.promptFeedback and frame.promptFeedback.blockReason:  # the prompt itself was blocked
            finish = "content_filter"
        elif final:
            raise UpstreamError(self.provider, 502, "malformed answer: no candidates and no block reason")
        return deltas, finish, parse_usage(frame.usageMetadata)


def parse_frame(data: Any) -> tuple[list[Delta | ToolCallDelta], str | None, TokenCounts | None]:
    return Frames().parse(data, final=False)


def parse_response(data: Any, provider: str = "google") -> ChatResult:
    deltas, finish, usage = Frames(provider).parse(data, final=True)
    calls = [
        ToolCall(id=d.id or "", name=d.name or "", arguments=d.arguments)
        for d in deltas
        if isinstance(d, ToolCallDelta)
    ]
    return ChatResult(
        text="".join(d.text for d in deltas if isinstance(d, Delta) and d.kind == "text"),
        finish_reason=finish or "stop",
        usage=usage,
        reasoning="".join(d.text for d in deltas if isinstance(d, Delta) and d.kind == "reasoning"),
        tool_calls=calls,
    )


def embed_body(model: str, texts: list[str], extra: dict[str, Any]) -> dict[str, Any]:
    """batchEmbedContents: one request per text; extra (taskType, outputDimensionality, ...) goes in each."""
    name = "models/" + model.removeprefix("models/")
    options = {k: v for k, v in extra.items() if k not in ("model", "content")}
    return {"requests": [{**options, "model": name, "content": {"parts": [{"text": text}]}} for text in texts]}


def parse_embeddings(data: dict[str, Any]) -> EmbeddingResult:
    return EmbeddingResult(vectors=[item.get("values") or [] for item in data.get("embeddings") or []], usage=None)


# ---------------------------------------------------------------------------------------------- calls


async def chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> ChatResult:
    params = await inline_remote_files(client, params, images=True)
    url = model_url(cfg.base_url, params.model, "generateContent")
    data = await post_json(client, cfg.id, url, headers(api_key), chat_body(params, cfg.id), byok=byok)
    return parse_response(data, cfg.id)


async def stream_chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> AsyncIterator[StreamItem]:
    params = await inline_remote_files(client, params, images=True)
    url = model_url(cfg.base_url, params.model, "streamGenerateContent") + "?alt=sse"
    body = chat_body(params, cfg.id)
    frames = Frames(cfg.id)
    finish: str | None = None
    usage: TokenCounts | None = None
    async with open_sse(client, cfg.id, url, headers(api_key), body, byok=byok) as events:
        async for event in events:
            if not event.data.strip():
                continue
            data = event_json(cfg.id, event)
            if not isinstance(data, dict):
                continue
            if data.get("error"):
                error = data["error"]
                raise UpstreamError(cfg.id, 502, (error.get("message") if isinstance(error, dict) else None) or "error")
            deltas, frame_finish, frame_usage = frames.parse(data, final=False)
            for delta in deltas:
                yield delta
            finish = frame_finish or finish
            usage = frame_usage or usage  # every frame may repeat it; the last one is final
    if finish is None:
        raise stream_ended_early(cfg.id)
    yield StreamEnd(finish_reason=finish, usage=usage)


async def embed(
    client: httpx.AsyncClient,
    cfg: ProviderConfig,
    model: str,
    texts: list[str],
    api_key: str,
    extra: dict,
    *,
    byok: bool,
) -> EmbeddingResult:
    url = model_url(cfg.base_url, model, "batchEmbedContents")
    data = await post_json(client, cfg.id, url, headers(api_key), embed_body(model, texts, extra), byok=byok)
    result = parse_embeddings(data if isinstance(data, dict) else {})
    if len(result.vectors) != len(texts):
        raise UpstreamError(cfg.id, 502, f"expected {len(texts)} embeddings, got {len(result.vectors)}")
    return result
