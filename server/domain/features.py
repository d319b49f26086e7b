"""Refuses, before any provider call, an agentic option the chosen provider or model cannot do: a 422 that
names provider, model and field, instead of the option being dropped on the way.

What a model can do comes from its catalog entry (`supportsTools`, `supportsVision`, `supportsPdf`,
`supportsJsonSchema`, `reasoningEfforts`, `upstreamApi`); an entry without a flag is not restricted by it.
What a whole wire format lacks (no seed on Anthropic, no one-call-at-a-time switch on Gemini, no stop
sequences on the Responses API) is listed here.
"""

from __future__ import annotations

from typing import Any

from server.errors import ValidationFailed
from server.providers.anthropic import MIN_THINKING_BUDGET, adaptive_only
from server.providers.base import ChatParams
from server.providers.media_inputs import part_kinds

PARAMS = ["body", "additional_params"]


def problems(provider: str, wire_format: str, model: str, entry: dict[str, Any], params: ChatParams) -> list[dict]:
    out: list[dict] = []

    def refuse(loc: list, what: str) -> None:
        msg = f"Provider '{provider}' model '{model}' does not support {what}"
        out.append({"loc": loc, "msg": msg, "type": "unsupported_feature"})

    kinds = part_kinds(params.messages)
    uses_tools = bool(params.tools) or any(m.get("tool_calls") or m.get("role") == "tool" for m in params.messages)
    if uses_tools and entry.get("supportsTools") is False:
        refuse([*PARAMS, "tools"], "tools (function calling)")
    if "image_url" in kinds and entry.get("supportsVision") is False:
        refuse(["body", "messages"], "image input (image_url parts)")
    if "file" in kinds and entry.get("supportsPdf") is False:
        refuse(["body", "messages"], "PDF input (file parts)")
    fmt = params.response_format
    # Anthropic models without native JSON output answer through a forced tool instead (see anthropic.py)
    if (
        fmt
        and fmt.get("type") == "json_schema"
        and entry.get("supportsJsonSchema") is False
        and wire_format != "anthropic"
    ):
        refuse([*PARAMS, "response_format"], "JSON-schema output (response_format json_schema)")
    efforts = entry.get("reasoningEfforts")
    if params.reasoning_effort and efforts is not None and params.reasoning_effort not in efforts:
        allowed = ", ".join(efforts) if efforts else "none: it has no reasoning control"
        refuse([*PARAMS, "reasoning_effort"], f"reasoning_effort '{params.reasoning_effort}' (allowed: {allowed})")
    responses_api = entry.get("upstreamApi") == "responses"
    if responses_api and params.stop:
        refuse([*PARAMS, "stop"], "stop sequences (the Responses API has none)")
    if responses_api and params.seed is not None:
        refuse([*PARAMS, "seed"], "seed (the Responses API has none)")
    if wire_format == "anthropic":
        if params.seed is not None:
            refuse([*PARAMS, "seed"], "seed (the Messages API has none)")
        if params.reasoning_effort and not adaptive_only(params.model or model):
            limit = params.max_tokens
            if limit is not None and limit <= MIN_THINKING_BUDGET:
                refuse(["body", "max_tokens"], f"reasoning_effort with max_tokens <= {MIN_THINKING_BUDGET}")
            forced = params.tool_choice == "required" or isinstance(params.tool_choice, dict)
            if forced or fmt:
                refuse([*PARAMS, "reasoning_effort"], "reasoning_effort with a forced tool_choice or JSON output")
            if params.temperature is not None and params.temperature != 1:
                refuse(["body", "temperature"], "a temperature other than 1 with reasoning_effort")
    if wire_format == "google" and params.parallel_tool_calls is False:
        refuse([*PARAMS, "parallel_tool_calls"], "parallel_tool_calls false (Gemini has no such switch)")
    return out


def check(provider: str, wire_format: str, model: str, entry: dict[str, Any], params: ChatParams) -> None:
    if found := problems(provider, wire_format, model, entry, params):
        raise ValidationFailed(found)
