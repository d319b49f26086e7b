"""POST /v1/responses: the Responses API request into ChatParams, inference's answers into Response objects and
the Responses event sequence (created, in_progress, output_item.added, content_part.added, output_text.delta,
..., completed), each with its `sequence_number`. Stateless: nothing is stored, so `store` is always false."""

from __future__ import annotations

from typing import Any

from server.domain.openai_surface import common
from server.domain.openai_surface.chat import check_tool_choice
from server.domain.openai_surface.errors import from_stream_event
from server.domain.openai_surface.fields import Body
from server.providers.base import ChatParams

_STATEFUL = ("previous_response_id", "conversation")


# ---------------------------------------------------------------------------------------------- request


def _part(body: Body, loc: list, part: Any) -> dict[str, Any] | None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text") or ""}
    if kind == "refusal":
        return {"type": "text", "text": part.get("refusal") or ""}
    if kind == "input_image" and isinstance(part.get("image_url"), str):
        image: dict[str, Any] = {"url": part["image_url"]}
        if part.get("detail") in ("low", "high", "auto"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file" and isinstance(part.get("file_data"), str):
        file = {"file_data": part["file_data"]}
        if isinstance(part.get("filename"), str):
            file["filename"] = part["filename"]
        return {"type": "file", "file": file}
    body.fail(loc, "Unsupported content part: use input_text, input_image (image_url) or input_file (file_data)")
    return None


def _content(body: Body, loc: list, content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        body.fail(loc, "content must be a string or a list of parts", "invalid_type")
        return ""
    parts = [p for i, raw in enumerate(content) if (p := _part(body, [*loc, i], raw)) is not None]
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _output_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p.get("text") or "" for p in value if isinstance(p, dict))
    return "" if value is None else str(value)


def _messages(body: Body) -> list[dict[str, Any]]:
    raw = body.required("input")
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    if not isinstance(raw, list) or not raw:
        if raw is not None:
            body.fail("input", "input must be a string or a non-empty list of items", "invalid_type")
        return []
    messages: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        loc = ["input", i]
        kind = item.get("type", "message" if "role" in item else None) if isinstance(item, dict) else None
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                body.fail([*loc, "role"], "role must be user, assistant, system or developer", "invalid_value")
                continue
            messages.append({"role": role, "content": _content(body, [*loc, "content"], item.get("content"))})
        elif kind == "function_call":
            if not all(isinstance(item.get(k), str) for k in ("call_id", "name", "arguments")):
                body.fail(loc, "A function_call item needs call_id, name and arguments", "missing_required_parameter")
                continue
            call = {
                "id": item["call_id"],
                "type": "function",
                "function": {"name": item["name"], "arguments": item["arguments"]},
            }
            last = messages[-1] if messages else None
            if last and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            elif last and last["role"] == "assistant" and isinstance(last.get("content"), str):
                last["tool_calls"] = [call]
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            if not isinstance(item.get("call_id"), str):
                body.fail(
                    [*loc, "call_id"], "A function_call_output item needs its call_id", "missing_required_parameter"
                )
                continue
            messages.append(
                {"role": "tool", "tool_call_id": item["call_id"], "content": _output_text(item.get("output"))}
            )
        elif kind == "reasoning":
            continue  # our providers take no reasoning items back; the visible turns carry the conversation
        else:
            body.fail(loc, "Supported input items: message, function_call, function_call_output", "invalid_value")
    return messages


def _tools(body: Body) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """(tools in the chat form ChatParams takes, the tools as given, to repeat in the Response)."""
    raw = body.array("tools") or []
    tools: list[dict[str, Any]] = []
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            body.fail(["tools", i, "type"], "Only tools of type 'function' are supported", "invalid_value")
            continue
        common.check_function(body, ["tools", i], tool)
        function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if tool.get(k) is not None}
        tools.append({"type": "function", "function": function})
    return tools or None, raw


def _tool_choice(body: Body) -> Any:
    choice = body.raw("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        check_tool_choice(body, choice, choice.get("name"))
        return {"type": "function", "function": {"name": choice.get("name")}}
    check_tool_choice(body, choice, None)
    return choice


def _format(body: Body) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(response_format for ChatParams, text.format to repeat)."""
    text = body.obj("text") or {}
    fmt = text.get("format") or {"type": "text"}
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None, fmt
    if kind == "json_object":
        return {"type": "json_object"}, fmt
    if kind == "json_schema" and isinstance(fmt.get("name"), str) and isinstance(fmt.get("schema"), dict):
        spec = {k: fmt[k] for k in ("name", "schema", "strict", "description") if fmt.get(k) is not None}
        return {"type": "json_schema", "json_schema": spec}, fmt
    body.fail(["text", "format"], "text.format must be text, json_object or json_schema with name and schema")
    return None, {"type": "text"}


def parse(data: dict[str, Any]) -> common.Request:
    body = Body(data, common.IGNORED | {"include", "truncation"})
    for name in _STATEFUL:
        if body.raw(name) is not None:
            body.fail(
                name,
                f"{name} is not supported: this gateway is stateless (store is false); send the whole "
                "conversation in input",
                "unsupported_parameter",
            )
    if body.boolean("background"):
        body.fail("background", "background responses are not supported (nothing is stored)", "unsupported_parameter")
    model = body.string("model", required=True)
    messages = _messages(body)
    instructions = body.string("instructions")
    if instructions:
        messages.insert(0, {"role": "system", "content": instructions})
    tools, raw_tools = _tools(body)
    tool_choice = _tool_choice(body)
    response_format, text_format = _format(body)
    reasoning = body.obj("reasoning") or {}
    effort = reasoning.get("effort")
    if effort is not None and effort not in common.REASONING_EFFORTS:
        body.fail(["reasoning", "effort"], f"effort must be one of {', '.join(common.REASONING_EFFORTS)}")
        effort = None
    params = ChatParams(
        model="",
        messages=messages,
        temperature=body.number("temperature", 0, 2),
        max_tokens=body.integer("max_output_tokens"),
        top_p=body.number("top_p", 0, 1),
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=body.boolean("parallel_tool_calls"),
        response_format=response_format,
        reasoning_effort=effort,
    )
    stream = bool(body.boolean("stream"))
    byok, session_id, extra = common.extensions(body, fallbacks=True)
    body.done()
    echo = {
        "instructions": instructions,
        "max_output_tokens": params.max_tokens,
        "parallel_tool_calls": params.parallel_tool_calls if params.parallel_tool_calls is not None else True,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "tool_choice": data.get("tool_choice") or "auto",
        "tools": raw_tools,
        "text": {"format": text_format},
        "reasoning": {"effort": effort, "summary": None},
        "metadata": data.get("metadata") or {},
    }
    return common.Request(model or "", params, stream, False, byok, session_id, echo, extra)


# ---------------------------------------------------------------------------------------------- answers


def usage(body_usage: dict[str, Any] | None) -> dict[str, Any]:
    inp, out, cached, reasoning = common.usage_tokens(body_usage)
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},  # writes are not reported yet
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": inp + out,
    }


def message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def call_item(item: dict[str, Any], status: str, arguments: str | None = None) -> dict[str, Any]:
    call_id = item.get("call_id") or item.get("id") or ""
    return {
        "id": item.get("id") if str(item.get("id") or "").startswith("fc_") else "fc_" + call_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": item.get("name") or "",
        "arguments": item.get("arguments") or "" if arguments is None else arguments,
    }


def _status(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    if body.get("status") == "incomplete" or body.get("finish_reason") == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if body.get("finish_reason") == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def response_object(
    echo: dict[str, Any],
    *,
    response_id: str,
    created_at: int,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage_: dict[str, Any] | None,
    incomplete: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "model": model,
        "output": output,
        "previous_response_id": None,
        "service_tier": "default",
        "store": False,
        "truncation": "disabled",
        "usage": usage_,
        "user": None,
        **echo,
    }


def response(echo: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """inference.run_unary's body as a Response object."""
    text, calls = common.output_parts(body)
    output: list[dict[str, Any]] = []
    if text or not calls:
        output.append(message_item("msg_" + body["id"].removeprefix("resp_"), text, "completed"))
    output += [call_item(c, "completed") for c in calls]
    status, incomplete = _status(body)
    return response_object(
        echo,
        response_id=body["id"],
        created_at=body["created_at"],
        model=common.model_name(body),
        status=status,
        output=output,
        usage_=usage(body.get("usage")),
        incomplete=incomplete,
    )


class EventStream:
    """inference.run_stream's events as the Responses event sequence. Output items are opened when their first
    content arrives (so an answer that only calls tools has no empty message item) and closed in order."""

    def __init__(self, echo: dict[str, Any]):
        self.echo = echo
        self.seq = 0
        self.rid = ""
        self.created_at = 0
        self.model = ""
        self.output: list[dict[str, Any]] = []  # finished items
        self.open: dict[str, Any] | None = None  # {"kind", "index", "item", "text"}
        self.calls: dict[Any, dict[str, Any]] = {}  # inference's item id / output_index -> our open call
        self.failed = False

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return event

    def _snapshot(self, status: str, usage_: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        return response_object(
            self.echo,
            response_id=self.rid,
            created_at=self.created_at,
            model=self.model,
            status=status,
            output=list(self.output),
            usage_=usage_,
            **extra,
        )

    def _close(self) -> list[dict[str, Any]]:
        current, self.open = self.open, None
        if current is None:
            return []
        index, item_id = current["index"], current["item"]["id"]
        if current["kind"] == "message":
            text = current["text"]
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            done = message_item(item_id, text, "completed")
            events = [
                self._event(
                    "response.output_text.done",
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    text=text,
                    logprobs=[],
                ),
                self._event(
                    "response.content_part.done", item_id=item_id, output_index=index, content_index=0, part=part
                ),
            ]
        else:
            done = {**current["item"], "status": "completed", "arguments": current["text"]}
            events = [
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item_id,
                    output_index=index,
                    name=done["name"],
                    arguments=current["text"],
                )
            ]
        self.output.append(done)
        events.append(self._event("response.output_item.done", output_index=index, item=done))
        return events

    def _open_message(self) -> list[dict[str, Any]]:
        events = self._close()
        index = len(self.output)
        item_id = f"msg_{self.rid.removeprefix('resp_')}" + (f"_{index}" if index else "")
        item = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
        self.open = {"kind": "message", "index": index, "item": item, "text": ""}
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        events.append(self._event("response.output_item.added", output_index=index, item=item))
        events.append(
            self._event("response.content_part.added", item_id=item_id, output_index=index, content_index=0, part=part)
        )
        return events

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "response.created":
            r = event["response"]
            self.rid, self.created_at, self.model = r["id"], r["created_at"], common.model_name(r)
            snapshot = self._snapshot("in_progress")
            return [
                self._event("response.created", response=snapshot),
                self._event("response.in_progress", response=snapshot),
            ]
        if kind in ("response.content_part.delta", "response.output_text.delta"):
            events = [] if self.open and self.open["kind"] == "message" else self._open_message()
            self.open["text"] += event.get("delta") or ""
            o = self.open
            events.append(
                self._event(
                    "response.output_text.delta",
                    item_id=o["item"]["id"],
                    output_index=o["index"],
                    content_index=0,
                    delta=event.get("delta") or "",
                    logprobs=[],
                )
            )
            return events
        if kind == "response.output_item.added" and (event.get("item") or {}).get("type") == "function_call":
            events = self._close()
            index = len(self.output)
            item = call_item(event["item"], "in_progress", "")
            self.open = {"kind": "call", "index": index, "item": item, "text": ""}
            self.calls[event["item"].get("id")] = self.calls[event.get("output_index")] = self.open
            events.append(self._event("response.output_item.added", output_index=index, item=item))
            return events
        if kind == "response.function_call_arguments.delta":
            call = self.calls.get(event.get("item_id")) or self.calls.get(event.get("output_index"))
            if call is None or call is not self.open:
                return []
            call["text"] += event.get("delta") or ""
            return [
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=call["item"]["id"],
                    output_index=call["index"],
                    delta=event.get("delta") or "",
                )
            ]
        if kind == "error":
            self.failed = True
            err = from_stream_event(event)["error"]
            events = self._close()
            events.append(self._event("error", code=err["code"], message=err["message"], param=None))
            failed = self._snapshot("failed", error={"code": err["code"] or "server_error", "message": err["message"]})
            events.append(self._event("response.failed", response=failed))
            return events
        if kind == "response.done" and not self.failed:
            r = event["response"]
            events = self._close()
            if not self.output:
                events += self._open_message() + self._close()
            status, incomplete = _status(r)
            final = self._snapshot(status, usage(r.get("usage")), incomplete=incomplete)
            events.append(
                self._event("response.completed" if status == "completed" else "response.incomplete", response=final)
            )
            return events
        return []
