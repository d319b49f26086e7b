"""What chat completions and the Responses API share: the body extensions, tools, and finish reasons."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from server.domain.openai_surface.fields import Body
from server.providers.base import ChatParams

# Accepted and not acted on: they change nothing about the answer (tracing ids, tiers, caching hints).
IGNORED = frozenset(
    {"user", "metadata", "service_tier", "safety_identifier", "prompt_cache_key", "prompt_cache_retention", "store"}
)
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})


@dataclass
class Request:
    """One OpenAI request as the domain layer takes it."""

    model: str  # "provider/model"
    params: ChatParams
    stream: bool
    include_usage: bool
    byok_key: str | None
    session_id: str | None
    echo: dict[str, Any]  # request values the Responses object repeats (instructions, tools, ...)
    extra: dict[str, Any]  # for the Caller: fallbacks


def extensions(body: Body, *, fallbacks: bool = False) -> tuple[str | None, str | None, dict[str, Any]]:
    """The documented body extensions: `byok_api_key`, `session_id`, and (chat and responses only) `fallbacks`,
    further "provider/model" names tried in order when the model fails before any output, exactly as
    `additional_params.fallbacks` on /api/v1. Returns (byok key, session id, extra for the Caller)."""
    byok = body.string("byok_api_key")
    session_id = body.string("session_id")
    names = body.array("fallbacks")
    extra: dict[str, Any] = {}
    if names is not None:
        if not fallbacks:
            body.fail("fallbacks", "fallbacks apply to chat completions and responses only", "unsupported_parameter")
        elif not all(isinstance(n, str) and n for n in names):
            body.fail("fallbacks", 'fallbacks must be a list of "provider/model" names', "invalid_type")
        else:
            extra["fallbacks"] = names
    return byok, session_id, extra


def check_function(body: Body, loc: list, function: Any) -> None:
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        body.fail(loc, "A function tool needs a 'name' string", "missing_required_parameter")
        return
    if not _TOOL_NAME.match(function["name"]):
        body.fail([*loc, "name"], "Tool names must match ^[a-zA-Z0-9_-]{1,64}$", "invalid_value")
    parameters = function.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        body.fail([*loc, "parameters"], "parameters must be a JSON Schema object", "invalid_type")


def finish_reason(reason: str | None, has_tool_calls: bool) -> str:
    """Our finish reason as one of OpenAI's: tool calls win, unknown values are a normal stop."""
    if has_tool_calls and reason in (None, "stop", "tool_calls", "tool_use"):
        return "tool_calls"
    if reason in FINISH_REASONS:
        return reason
    return "length" if reason in ("max_tokens", "incomplete") else "stop"


def usage_tokens(usage: dict[str, Any] | None) -> tuple[int, int, int, int]:
    """(input, output, cached, reasoning) from inference's usage dict."""
    usage = usage or {}
    return (
        int(usage.get("input_tokens") or 0),
        int(usage.get("output_tokens") or 0),
        int((usage.get("input_tokens_details") or {}).get("cached_tokens") or 0),
        int((usage.get("output_tokens_details") or {}).get("reasoning_tokens") or 0),
    )


def model_name(body: dict[str, Any]) -> str:
    """The model as the caller names it on this surface: "provider/model"."""
    return f"{body.get('provider')}/{body.get('model')}" if body.get("provider") else str(body.get("model"))


def output_parts(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(text, function_call items) of inference's unary response body."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in body.get("output") or []:
        if item.get("type") == "message":
            texts += [p.get("text") or "" for p in item.get("content") or [] if p.get("type") == "output_text"]
        elif item.get("type") == "function_call":
            calls.append(item)
    text = "".join(texts) if texts else str(body.get("data") or "")
    return text, calls
