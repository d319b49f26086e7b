"""Request validation with FastAPI-style (HTTPValidationError) results: all problems at once, as a 422."""

from __future__ import annotations

import re
from typing import Any

from server.errors import ValidationFailed

MAX_API_KEY_CHARS = 1024
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


class Checker:
    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, loc: list, msg: str, type_: str = "value_error") -> None:
        self.errors.append({"loc": loc, "msg": msg, "type": type_})

    def between(self, name: str, value: float | None, lo: float, hi: float) -> None:
        if value is not None and not lo <= value <= hi:
            self.add(["body", name], f"Input should be between {lo:g} and {hi:g}", "value_error")

    def positive(self, name: str, value: int | None) -> None:
        if value is not None and value <= 0:
            self.add(["body", name], "Input should be greater than 0", "greater_than")

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def check_sampling(c: Checker, temperature, top_p, max_tokens, frequency_penalty, presence_penalty) -> None:
    c.between("temperature", temperature, 0, 2)
    c.between("top_p", top_p, 0, 1)
    c.positive("max_tokens", max_tokens)
    c.between("frequency_penalty", frequency_penalty, -2, 2)
    c.between("presence_penalty", presence_penalty, -2, 2)


def check_messages(c: Checker, messages: list[dict[str, Any]]) -> None:
    if not messages:
        c.add(["body", "messages"], "List of messages cannot be empty")
        return
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ROLES:
            c.add(
                ["body", "messages", i, "role"],
                f"Unknown role {role!r}: expected one of {', '.join(sorted(ROLES))}",
                "literal_error",
            )
        if message.get("content") is None and role not in ("assistant", "tool", "function"):
            c.add(["body", "messages", i, "content"], "Field required", "missing")


# ---------------------------------------------------------------------------------------------- agentic fields
# Tools, tool calls, content parts and output options, in the OpenAI chat-completions shape the gateway
# speaks internally: checked here once, so adapters translate only well-formed values.

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PATTERN = "string_pattern_mismatch"
TOOL_CHOICES = frozenset({"auto", "none", "required"})
REASONING_EFFORTS = frozenset({"low", "medium", "high"})
PART_TYPES = frozenset({"text", "image_url", "file"})
MAX_STOP = 4


def check_tools(c: Checker, tools: Any, loc: list) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        c.add(loc, "Input should be a valid list", "list_type")
        return
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(fn, dict):
            c.add([*loc, i], 'Only function tools are supported: {"type": "function", "function": {...}}')
            continue
        if not isinstance(fn.get("name"), str) or not TOOL_NAME.match(fn["name"]):
            c.add([*loc, i, "function", "name"], "Tool names are 1-64 letters, digits, '_' or '-'", PATTERN)
        params = fn.get("parameters")
        if params is not None and not isinstance(params, dict):
            c.add([*loc, i, "function", "parameters"], "Input should be a JSON Schema object", "dict_type")
        if "description" in fn and not isinstance(fn["description"], str):
            c.add([*loc, i, "function", "description"], "Input should be a valid string", "string_type")


def tool_names(tools: Any) -> set[str]:
    return {t["function"]["name"] for t in tools or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)}


def check_tool_choice(c: Checker, choice: Any, tools: Any, loc: list) -> None:
    if choice is None:
        return
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            c.add(loc, "Input should be 'auto', 'none', 'required' or a function choice", "literal_error")
        elif choice == "required" and not tools:
            c.add(loc, "tool_choice 'required' needs tools")
        return
    name = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or choice.get("type") != "function" or not isinstance(name, str):
        c.add(loc, 'Input should be {"type": "function", "function": {"name": ...}}')
    elif name not in tool_names(tools):
        c.add(loc, f"tool_choice names '{name}', which is not among the tools")


def check_response_format(c: Checker, fmt: Any, loc: list) -> None:
    if fmt is None:
        return
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        c.add([*loc, "type"], "Input should be 'text', 'json_object' or 'json_schema'", "literal_error")
        return
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            c.add([*loc, "json_schema", "schema"], "Field required: a JSON Schema object", "missing")
        elif not isinstance(spec.get("name"), str) or not TOOL_NAME.match(spec["name"]):
            c.add([*loc, "json_schema", "name"], "Names are 1-64 letters, digits, '_' or '-'", PATTERN)


def check_output_options(c: Checker, stop: Any, seed: Any, effort: Any, parallel: Any, loc: list) -> None:
    if stop is not None and not (
        isinstance(stop, list) and len(stop) <= MAX_STOP and all(isinstance(s, str) and s for s in stop)
    ):
        c.add([*loc, "stop"], f"Input should be up to {MAX_STOP} non-empty strings", "list_type")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        c.add([*loc, "seed"], "Input should be a valid integer", "int_type")
    if effort is not None and effort not in REASONING_EFFORTS:
        c.add([*loc, "reasoning_effort"], "Input should be 'low', 'medium' or 'high'", "literal_error")
    if parallel is not None and not isinstance(parallel, bool):
        c.add([*loc, "parallel_tool_calls"], "Input should be a valid boolean", "bool_type")


def _check_parts(c: Checker, content: list, loc: list) -> None:
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in PART_TYPES:
            c.add([*loc, j, "type"], "Content parts are 'text', 'image_url' or 'file'", "literal_error")
        elif kind == "text" and not isinstance(part.get("text"), str):
            c.add([*loc, j, "text"], "Input should be a valid string", "string_type")
        elif kind == "image_url":
            url = (part.get("image_url") or {}).get("url") if isinstance(part.get("image_url"), dict) else None
            if not isinstance(url, str) or not url.startswith(("https://", "http://", "data:image/")):
                c.add([*loc, j, "image_url", "url"], "An https URL or a data:image/...;base64 URL is required")
        elif kind == "file":
            data = (part.get("file") or {}).get("file_data") if isinstance(part.get("file"), dict) else None
            if not isinstance(data, str) or not data.startswith(("data:", "https://", "http://")):
                c.add([*loc, j, "file", "file_data"], "A data:application/pdf;base64 URL is required")


def check_agent_messages(c: Checker, messages: list[dict[str, Any]]) -> None:
    """Content parts, assistant tool_calls and tool results (each answering an earlier call)."""
    called: set[str] = set()
    for i, message in enumerate(messages):
        loc = ["body", "messages", i]
        content = message.get("content")
        if isinstance(content, list):
            _check_parts(c, content, [*loc, "content"])
        elif content is not None and not isinstance(content, str):
            c.add([*loc, "content"], "Input should be a string or a list of content parts")
        for k, call in enumerate(message.get("tool_calls") or []):
            fn = call.get("function") or {}
            if not call.get("id") or not fn.get("name"):
                c.add([*loc, "tool_calls", k], "A tool call needs an id and a function name", "missing")
            called.add(call.get("id") or "")
        if message.get("tool_calls") and message.get("role") != "assistant":
            c.add([*loc, "tool_calls"], "Only assistant messages carry tool_calls")
        if message.get("role") == "tool":
            call_id = message.get("tool_call_id")
            if not call_id:
                c.add([*loc, "tool_call_id"], "Field required", "missing")
            elif call_id not in called:
                c.add([*loc, "tool_call_id"], f"No earlier assistant tool call has id '{call_id}'")


def check_byok_key(key: str | None) -> None:
    """A caller's own provider key travels in an HTTP header: printable ASCII without spaces, bounded in size
    (anything else would fail inside the HTTP client as an internal error)."""
    if key and (len(key) > MAX_API_KEY_CHARS or not _PRINTABLE_ASCII.fullmatch(key)):
        msg = f"API key must be printable ASCII without spaces, at most {MAX_API_KEY_CHARS} characters"
        raise ValidationFailed.single(["body", "byok_api_key"], msg, "string_pattern_mismatch")
