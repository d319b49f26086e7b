"""Tools through the /v1 surface with the official `openai` Python SDK: tool calls (unary and streamed, several
at once), tool results sent back, on an OpenAI, an Anthropic and a Gemini model, in chat completions and the
Responses API. The fakes call the offered tool with {"query": <text>, "n": i} and answer tool results with
"Echo: <results>"."""

from __future__ import annotations

import json

import openai
import pytest

from tests.e2e.test_agentic import PNG_URL
from tests.e2e.test_chat import usage_rows
from tests.harness import Gateway, fake_requests

MODELS = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5-20251001", "google/gemini-3.5-flash"]
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}


@pytest.fixture
def client(gateway: Gateway, make_user):
    user_id, key = make_user(credits=5)
    with openai.OpenAI(base_url=f"{gateway.base}/v1", api_key=key, max_retries=0, timeout=30) as c:
        c.user_id = user_id
        yield c


@pytest.mark.parametrize("model", MODELS)
def test_chat_tool_call_and_result_round_trip(client, model: str) -> None:
    question = [{"role": "user", "content": "Weather in Oslo"}]
    r = client.chat.completions.create(model=model, messages=question, tools=[WEATHER])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "weather" and call.id
    assert json.loads(call.function.arguments) == {"query": "Weather in Oslo"}

    answer = client.chat.completions.create(
        model=model,
        tools=[WEATHER],
        messages=[
            *question,
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
    )
    assert answer.choices[0].message.content == "Echo: sunny" and answer.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", MODELS)
def test_chat_streamed_parallel_tool_calls_accumulate_in_the_sdk_helper(gateway: Gateway, client, model: str) -> None:
    lookup = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    with client.chat.completions.stream(
        model=model,
        messages=[{"role": "user", "content": "Two calls please [[calls:2]]"}],
        tools=[WEATHER, lookup],
        stream_options={"include_usage": True},
    ) as stream:
        chunks = [e.chunk for e in stream if e.type == "chunk"]
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["weather", "lookup"]
    assert len({c.id for c in calls}) == 2
    assert [json.loads(c.function.arguments)["query"] for c in calls] == ["Two calls please"] * 2
    assert final.choices[0].finish_reason == "tool_calls"
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert sorted({d.index for d in deltas}) == [0, 1]
    firsts = [d for d in deltas if d.id]
    assert [d.index for d in firsts] == [0, 1] and all(d.function.name and d.type == "function" for d in firsts)
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    [row] = usage_rows(gateway, client.user_id)
    assert row["endpoint"] == "openai.chat" and row["status"] == "success" and row["output_tokens"] > 0


@pytest.mark.parametrize("model", MODELS)
def test_responses_function_calls_unary_stream_and_results(client, model: str) -> None:
    tool = {"type": "function", "name": "weather", "parameters": WEATHER["function"]["parameters"], "strict": True}
    r = client.responses.create(model=model, input="Weather in Bergen", tools=[tool])
    [call] = [item for item in r.output if item.type == "function_call"]
    assert call.name == "weather" and json.loads(call.arguments) == {"query": "Weather in Bergen"}
    assert not [item for item in r.output if item.type == "message"]

    with client.responses.stream(model=model, input="Weather in Tromso", tools=[tool]) as stream:
        kinds = [e.type for e in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds and kinds[-1] == "response.completed"
    assert kinds.index("response.function_call_arguments.done") < kinds.index("response.completed")
    [streamed] = [item for item in final.output if item.type == "function_call"]
    assert json.loads(streamed.arguments) == {"query": "Weather in Tromso"}

    done = client.responses.create(
        model=model,
        tools=[tool],
        input=[
            {"role": "user", "content": "Weather in Bergen"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "rainy"},
        ],
    )
    assert done.output_text == "Echo: rainy"


def test_fallbacks_extension_serves_from_the_next_model(gateway: Gateway, client) -> None:
    r = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "fallback-marker-7 [[status:503@gpt-4o-mini]]"}],
        extra_body={"fallbacks": ["anthropic/claude-haiku-4-5-20251001"]},
    )
    assert r.model == "anthropic/claude-haiku-4-5-20251001"
    assert "fallback-marker-7" in r.choices[0].message.content
    rows = usage_rows(gateway, client.user_id)
    assert [(row["provider"], row["status"]) for row in rows] == [("openai", "error"), ("anthropic", "success")]
    assert {row["endpoint"] for row in rows} == {"openai.chat"}
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="openai/text-embedding-3-small", input="x", extra_body={"fallbacks": ["a/b"]})
    assert err.value.param == "fallbacks"


def test_images_json_output_and_reasoning_through_chat(gateway: Gateway, client) -> None:
    image = {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "low"}}
    r = client.chat.completions.create(
        model="anthropic/claude-haiku-4-5-20251001",
        messages=[{"role": "user", "content": [{"type": "text", "text": "what is this"}, image]}],
    )
    assert r.choices[0].message.content == "Echo: what is this [images:1]"

    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    r = client.chat.completions.create(
        model="google/gemini-3.5-flash",
        messages=[{"role": "user", "content": "json-marker-5"}],
        response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema, "strict": True}},
    )
    assert json.loads(r.choices[0].message.content) == {"city": "json-marker-5"}

    r = client.chat.completions.create(
        model="anthropic/claude-haiku-4-5-20251001",
        messages=[{"role": "user", "content": "reason-marker-9 [[reason]]"}],
        reasoning_effort="low",
        max_completion_tokens=4000,
    )
    assert r.choices[0].message.content == "Echo: reason-marker-9"  # reasoning text is not part of the answer
    [sent] = [s for s in fake_requests(gateway) if "reason-marker-9" in json.dumps(s.get("body"))]
    assert "thinking" in sent["body"] or "output_config" in sent["body"]

    with pytest.raises(openai.BadRequestError) as err:  # the domain's check, named as this surface names it
        client.responses.create(
            model="anthropic/claude-haiku-4-5-20251001", input="x", reasoning={"effort": "low"}, max_output_tokens=500
        )
    assert err.value.param == "max_output_tokens"
