"""The pure translation of the /v1 surface: OpenAI requests into domain inputs, domain answers and events into
OpenAI's objects (tool calls included), checked against the shapes the official SDK parses."""

from __future__ import annotations

import base64
import struct

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response

from server.domain.openai_surface import chat, embeddings, responses_api
from server.domain.openai_surface.errors import from_stream_event
from server.errors import ValidationFailed


def unary_body(text: str = "", calls: list[dict] | None = None, finish: str = "stop") -> dict:
    """What inference.run_unary answers (its documented body), with function_call output items."""
    output = [{"id": "msg_1", "type": "message", "status": "completed", "role": "assistant", "content": []}]
    if text:
        output[0]["content"] = [{"type": "output_text", "text": text, "annotations": []}]
    output += calls or []
    return {
        "id": "resp_abc",
        "object": "response",
        "created_at": 1_700_000_000,
        "model": "claude-haiku-4-5",
        "provider": "anthropic",
        "output": output,
        "usage": {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 7,
            "output_tokens_details": {"reasoning_tokens": 2},
            "total_tokens": 17,
            "cost": 0.001,
        },
        "status": "completed",
        "finish_reason": finish,
        "data": text,
    }


CALL = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "weather", "arguments": '{"city":"Oslo"}'}


def test_chat_request_maps_onto_chat_params() -> None:
    req = chat.parse(
        {
            "model": "anthropic/claude-haiku-4-5",
            "messages": [
                {"role": "user", "content": "hi", "name": "bob"},
                {
                    "role": "assistant",
                    "reasoning_content": "think",
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "max_tokens": 10,
            "max_completion_tokens": 20,
            "stop": "END",
            "reasoning_effort": "low",
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
            "stream": True,
            "stream_options": {"include_usage": True},
            "byok_api_key": "sk-own",
            "session_id": "s1",
            "fallbacks": ["openai/gpt-4o-mini"],
            "user": "ignored",
        }
    )
    p = req.params
    assert req.model == "anthropic/claude-haiku-4-5" and req.stream and req.include_usage
    assert p.messages[0] == {"role": "user", "content": "hi"}  # `name` is not forwarded (Groq rejects it)
    assert p.messages[1]["content"] is None and p.messages[1]["tool_calls"][0]["id"] == "c1"
    assert p.messages[1]["reasoning_content"] == "think"
    assert p.messages[2] == {"role": "tool", "content": "42", "tool_call_id": "c1"}
    assert p.max_tokens == 20 and p.stop == ["END"] and p.reasoning_effort == "low"
    assert p.tool_choice == {"type": "function", "function": {"name": "f"}}
    assert p.response_format["type"] == "json_schema"
    assert (req.byok_key, req.session_id) == ("sk-own", "s1")
    assert req.extra == {"fallbacks": ["openai/gpt-4o-mini"]}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "messages.0.tool_call_id"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_p": 2}, "top_p"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "web"}]}, "tools.0.type"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "fallbacks": [1]}, "fallbacks"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "frobnicate": 1}, "frobnicate"),
    ],
)
def test_chat_request_problems_name_their_param(body: dict, param: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        chat.parse(body)
    locs = [".".join(str(p) for p in e["loc"][1:]) for e in err.value.errors]
    assert param in locs


def test_chat_completion_with_tool_calls_parses_in_the_sdk() -> None:
    body = chat.completion(unary_body("", [CALL], finish="tool_calls"))
    parsed = ChatCompletion.model_validate(body)
    message = parsed.choices[0].message
    assert message.content is None and parsed.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls[0].id == "call_1" and message.tool_calls[0].function.arguments == '{"city":"Oslo"}'
    assert parsed.model == "anthropic/claude-haiku-4-5" and parsed.id == "chatcmpl-abc"
    assert parsed.usage.prompt_tokens_details.cached_tokens == 4
    assert parsed.usage.completion_tokens_details.reasoning_tokens == 2
    text_only = ChatCompletion.model_validate(chat.completion(unary_body("hello")))
    assert text_only.choices[0].message.content == "hello" and text_only.choices[0].message.tool_calls is None


def test_chat_chunks_index_tool_calls_as_openai_does() -> None:
    stream = chat.ChunkStream(include_usage=True)
    created = {"type": "response.created", "response": unary_body() | {"output": []}}
    events = [
        created,
        {"type": "response.content_part.delta", "delta": "Let me look. "},
        {"type": "response.output_item.added", "output_index": 1, "item": CALL | {"arguments": ""}},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1, "delta": '{"ci'},
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "fc_1",
            "output_index": 1,
            "delta": 'ty":"Oslo"}',
        },
        {"type": "response.output_item.added", "output_index": 2, "item": CALL | {"id": "fc_2", "call_id": "call_2"}},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_2", "output_index": 2, "delta": "{}"},
        {"type": "response.output_item.done", "output_index": 2, "item": CALL},
        {"type": "response.done", "response": unary_body(finish="tool_calls")},
    ]
    chunks = [c for e in events for c in stream.feed(e)]
    parsed = [ChatCompletionChunk.model_validate(c) for c in chunks]
    deltas = [p.choices[0].delta for p in parsed if p.choices]
    calls = [tc for d in deltas for tc in d.tool_calls or []]
    assert [tc.index for tc in calls] == [0, 0, 0, 1, 1]
    first, second = calls[0], calls[3]
    assert (first.id, first.type, first.function.name, first.function.arguments) == (
        "call_1",
        "function",
        "weather",
        "",
    )
    assert all(tc.id is None and tc.function.name is None for tc in (calls[1], calls[2], calls[4]))
    assert "".join(tc.function.arguments for tc in calls if tc.index == 0) == '{"city":"Oslo"}'
    assert second.id == "call_2"
    assert parsed[-2].choices[0].finish_reason == "tool_calls"
    assert parsed[-1].choices == [] and parsed[-1].usage.total_tokens == 17
    assert all(c["usage"] is None for c in chunks[:-1])


def test_chat_stream_error_after_output_is_an_error_body_and_nothing_more() -> None:
    stream = chat.ChunkStream(include_usage=False)
    stream.feed({"type": "response.created", "response": unary_body() | {"output": []}})
    error = {
        "type": "error",
        "error": {
            "message": "Provider 'openai' error: cut",
            "type": "UpstreamError",
            "code": 502,
            "provider": "openai",
        },
    }
    [body] = stream.feed(error)
    assert body == {
        "error": {
            "message": "Provider 'openai' error: cut",
            "type": "server_error",
            "param": None,
            "code": "upstream_error",
        }
    }
    assert stream.feed({"type": "response.done", "response": unary_body()}) == []
    assert (
        from_stream_event({"type": "error", "error": {"message": "x", "code": 429, "provider": "groq"}})["error"][
            "type"
        ]
        == "rate_limit_error"
    )


def test_responses_request_items_instructions_tools_and_format() -> None:
    req = responses_api.parse(
        {
            "model": "openai/gpt-4o-mini",
            "instructions": "Be brief",
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "a"},
                        {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"},
                    ],
                },
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                {"type": "function_call", "call_id": "c2", "name": "g", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "1"},
                {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "2"}]},
            ],
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}],
            "tool_choice": {"type": "function", "name": "f"},
            "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": True}},
            "reasoning": {"effort": "high"},
            "max_output_tokens": 99,
            "store": False,
        }
    )
    p = req.params
    assert p.messages[0] == {"role": "system", "content": "Be brief"}
    assert p.messages[1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,AA", "detail": "low"},
    }
    assert [c["id"] for c in p.messages[2]["tool_calls"]] == ["c1", "c2"]  # consecutive calls: one assistant turn
    assert p.messages[3:] == [
        {"role": "tool", "tool_call_id": "c1", "content": "1"},
        {"role": "tool", "tool_call_id": "c2", "content": "2"},
    ]
    assert p.tools == [
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}}
    ]
    assert p.tool_choice == {"type": "function", "function": {"name": "f"}}
    assert p.response_format == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
    }
    assert p.reasoning_effort == "high" and p.max_tokens == 99


def test_responses_refuses_state_with_a_clear_400() -> None:
    with pytest.raises(ValidationFailed) as err:
        responses_api.parse({"model": "m", "input": "x", "previous_response_id": "resp_1"})
    [e] = err.value.errors
    assert e["loc"] == ["body", "previous_response_id"] and "stateless" in e["msg"]


def test_responses_unary_with_function_calls_parses_in_the_sdk() -> None:
    req = responses_api.parse({"model": "anthropic/claude-haiku-4-5", "input": "x"})
    parsed = Response.model_validate(responses_api.response(req.echo, unary_body("", [CALL], finish="tool_calls")))
    assert [item.type for item in parsed.output] == ["function_call"]
    assert parsed.output[0].call_id == "call_1" and parsed.output[0].arguments == '{"city":"Oslo"}'
    assert parsed.store is False and parsed.status == "completed"
    assert parsed.usage.input_tokens_details.cached_tokens == 4
    incomplete = Response.model_validate(responses_api.response(req.echo, unary_body("cut", finish="length")))
    assert incomplete.status == "incomplete" and incomplete.incomplete_details.reason == "max_output_tokens"


def test_responses_stream_with_text_then_a_function_call() -> None:
    req = responses_api.parse({"model": "anthropic/claude-haiku-4-5", "input": "x"})
    stream = responses_api.EventStream(req.echo)
    events = [
        {"type": "response.created", "response": unary_body() | {"output": []}},
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "id": "msg_1"}},
        {"type": "response.content_part.delta", "delta": "Hi"},
        {"type": "response.output_item.added", "output_index": 1, "item": CALL | {"arguments": ""}},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1, "delta": "{}"},
        {"type": "response.output_item.done", "output_index": 1, "item": CALL},
        {"type": "response.done", "response": unary_body(finish="tool_calls")},
    ]
    out = [e for event in events for e in stream.feed(event)]
    assert [e["type"] for e in out] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in out] == list(range(len(out)))
    call_events = out[8:12]
    assert {e["output_index"] for e in call_events} == {1}
    assert out[8]["item"]["arguments"] == "" and out[10]["arguments"] == "{}" and out[10]["name"] == "weather"
    assert all(e["item_id"] == out[8]["item"]["id"] for e in out[9:11])
    final = Response.model_validate(out[-1]["response"])
    assert [i.type for i in final.output] == ["message", "function_call"]
    assert final.output[0].content[0].text == "Hi" and final.output[1].arguments == "{}"


def test_embeddings_base64_is_little_endian_float32() -> None:
    body = embeddings.response("openai", "text-embedding-3-small", [[0.5, -1.25]], 3, as_base64=True)
    raw = base64.b64decode(body["data"][0]["embedding"])
    assert struct.unpack("<2f", raw) == (0.5, -1.25)
    assert body["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    req = embeddings.parse({"model": "openai/text-embedding-3-small", "input": "x", "dimensions": 8})
    assert req.texts == ["x"] and req.extra == {"dimensions": 8} and not req.base64
    with pytest.raises(ValidationFailed):
        embeddings.parse({"model": "m", "input": [1, 2, 3]})
