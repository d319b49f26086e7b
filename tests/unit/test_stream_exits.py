"""Every exit of `inference.run_stream`, driven by an in-process fake adapter (no network, no sleeps): the events
sent, the usage record's status and the exact charge, against a real migrated SQLite database."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from server.catalog import pricing
from server.config import Settings
from server.db.migrate import upgrade
from server.db.models import CreditHold, UsageRecord, User
from server.domain import billing, inference, tokens
from server.domain.auth import Principal
from server.domain.caller import Caller
from server.domain.routing import Route
from server.domain.streams import ActiveStreams
from server.errors import HubError, UpstreamError
from server.hub import Hub
from server.providers.base import ChatParams, Delta, ProviderConfig, StreamEnd, TokenCounts

ENTRY = {"modelName": "m-1", "inputPricePer1MTokens": 1.0, "outputPricePer1MTokens": 4.0, "maxOutputTokens": 100}
START_BALANCE = 10_000_000_000
_RAISE = object()


class ScriptedAdapter:
    """A chat adapter whose stream yields exactly what the test puts in its queue (an exception is raised)."""

    def __init__(self) -> None:
        self.items: asyncio.Queue = asyncio.Queue()
        self.reading = asyncio.Event()  # the gateway is waiting for the first item
        self.closed = asyncio.Event()

    async def chat(self, client, cfg, params, api_key, *, byok):  # pragma: no cover - streams only here
        raise NotImplementedError

    async def stream_chat(self, client, cfg, params, api_key, *, byok) -> AsyncIterator:
        try:
            while True:
                self.reading.set()
                item = await self.items.get()
                if isinstance(item, BaseException):
                    raise item
                if item is None:
                    return
                yield item
        finally:
            self.closed.set()


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='hub-streams-')) / 'hub.db'}"
    await asyncio.to_thread(upgrade, url)
    hub = Hub.create(Settings(database_url=url, jwt_secret="x" * 32, video_worker=False))
    hub.ledger.start()
    hub.http = None  # the scripted adapter never uses it
    hub.streams = ActiveStreams(hub)
    await hub.streams.start()
    yield hub
    await hub.streams.stop_listening()
    await hub.ledger.stop()
    await hub.engine.dispose()


async def start(hub: Hub, adapter: ScriptedAdapter) -> inference.ChatCall:
    async with hub.sessions() as session, session.begin():
        user = User(email=f"{uuid.uuid4().hex}@x.test", username="u", balance_nanos=START_BALANCE)
        session.add(user)
    caller = Caller(Principal(user_id=user.id, api_key_id=None))
    route = Route("fakeprov", "m-1", ENTRY, ProviderConfig("fakeprov", "openai", "http://unused", "k"), "k", False)
    params = ChatParams(model="m-1", messages=[{"role": "user", "content": "hello there"}], output_limit=100)
    prompt = tokens.count_messages(params.messages)
    worst = pricing.token_cost_nanos(ENTRY, int(prompt * inference.INPUT_MARGIN) + 16, 100)
    meter = await billing.meter(hub, caller, route, worst, endpoint="chat")
    return inference.ChatCall("chat", route, params, meter, prompt, adapter)


async def ledger_state(hub: Hub, call: inference.ChatCall) -> tuple[int, list[UsageRecord], int]:
    """(credits spent, usage records of the request, holds left) once every background settlement ended."""
    if hub.background:
        await asyncio.gather(*hub.background)
    async with hub.sessions() as session:
        balance = await session.scalar(select(User.balance_nanos).where(User.id == call.meter.reservation.user_id))
        rows = (await session.scalars(select(UsageRecord).where(UsageRecord.request_id == call.response_id))).all()
        holds = len((await session.scalars(select(CreditHold))).all())
    return START_BALANCE - balance, list(rows), holds


def types(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


async def test_done_bills_the_reported_usage(hub):
    adapter = ScriptedAdapter()
    call = await start(hub, adapter)
    for item in (Delta("text", "Hi"), Delta("text", " you"), StreamEnd("stop", TokenCounts(7, 2)), None):
        adapter.items.put_nowait(item)
    events = [e async for e in inference.run_stream(hub, call)]
    assert types(events) == [
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
        "response.content_part.delta",
        "response.content_part.delta",
        "response.output_item.done",
        "response.done",
    ]
    assert events[-1]["response"]["status"] == "completed" and events[-1]["response"]["data"] == "Hi you"
    spent, [row], holds = await ledger_state(hub, call)
    assert row.status == "success" and (row.input_tokens, row.output_tokens) == (7, 2)
    assert spent == row.cost_nanos == pricing.token_cost_nanos(ENTRY, 7, 2) and holds == 0


async def test_error_before_output_raises_and_costs_nothing(hub):
    adapter = ScriptedAdapter()
    call = await start(hub, adapter)
    adapter.items.put_nowait(UpstreamError("fakeprov", 429, "rate limited"))
    stream = inference.run_stream(hub, call)
    with pytest.raises(UpstreamError) as info:
        await anext(stream)
    assert info.value.http_status == 429
    spent, [row], holds = await ledger_state(hub, call)
    assert row.status == "error" and spent == row.cost_nanos == 0 and holds == 0


async def test_provider_breaking_off_after_output_costs_nothing_and_records_the_tokens(hub):
    adapter = ScriptedAdapter()
    call = await start(hub, adapter)
    adapter.items.put_nowait(Delta("text", "partial answer"))
    adapter.items.put_nowait(UpstreamError("fakeprov", 502, "the stream broke off"))
    events = [e async for e in inference.run_stream(hub, call)]
    assert types(events)[-3:] == ["response.output_item.done", "error", "response.done"]
    assert events[-2]["error"]["provider"] == "fakeprov" and events[-1]["response"]["status"] == "failed"
    spent, [row], holds = await ledger_state(hub, call)
    assert row.status == "error" and row.output_tokens == tokens.count_text("partial answer")
    assert spent == row.cost_nanos == 0 and holds == 0


async def test_our_own_failure_is_an_internal_error_not_the_providers(hub):
    adapter = ScriptedAdapter()
    call = await start(hub, adapter)
    adapter.items.put_nowait(Delta("text", "some"))
    adapter.items.put_nowait(ValueError("a bug of ours"))
    events = [e async for e in inference.run_stream(hub, call)]
    [error] = [e for e in events if e["type"] == "error"]
    assert error["error"]["code"] == 500 and "provider" not in error["error"]
    assert "fakeprov" not in error["error"]["message"] and "bug" not in error["error"]["message"]
    spent, [row], _ = await ledger_state(hub, call)
    assert row.status == "error" and spent == 0


async def test_our_own_failure_before_output_is_a_500(hub):
    adapter = ScriptedAdapter()
    call = await start(hub, adapter)
    adapter.items.put_nowait(KeyError("oops"))
    with pytest.raises(HubError) as info:
        await anext(inference.run_stream(hub, call))
    assert info.value.http_status == 500 and not isinstance(info.value, UpstreamError)
    spent, [row], _ = await ledger_state(hub, call)
    assert row.status == "error" and spent == 0


async def test_stop_bills_what_was_produced(hub):
    adapter = ScriptedAdapter()
    call = await start(hub, adapter)
    adapter.items.put_nowait(Delta("text", "one two three"))
    stream = inference.run_stream(hub, call)
    events = [await anext(stream) for _ in range(4)]  # created, item added, part added, the delta
    assert events[-1]["type"] == "response.content_part.delta"
    assert await hub.streams.stop(call.response_id, call.meter.reservation.user_id)
    rest = [e async for e in stream]
    assert types(rest) == ["response.output_item.done", "response.done"]
    assert rest[-1]["response"]["status"] == "stopped" and adapter.closed.is_set()
    spent, [row], holds = await ledger_state(hub, call)
    expected = pricing.token_cost_nanos(ENTRY, call.prompt_tokens, tokens.count_text("one two three"))
    assert row.status == "stopped" and spent == row.cost_nanos == expected > 0 and holds == 0


async def test_client_disconnect_bills_what_was_produced_once(hub):
    adapter = ScriptedAdapter()
    call = await start(hub, adapter)
    adapter.items.put_nowait(Delta("text", "half of it"))
    async with contextlib.aclosing(inference.run_stream(hub, call)) as stream:
        for _ in range(4):
            await anext(stream)
    # leaving the block closed the stream, as grpc.aio does when the client goes away
    assert adapter.closed.is_set()
    spent, [row], holds = await ledger_state(hub, call)
    expected = pricing.token_cost_nanos(ENTRY, call.prompt_tokens, tokens.count_text("half of it"))
    assert row.status == "stopped" and spent == row.cost_nanos == expected > 0 and holds == 0


async def test_client_leaving_before_any_output_bills_only_the_prompt(hub):
    adapter = ScriptedAdapter()
    call = await start(hub, adapter)
    stream = inference.run_stream(hub, call)
    pending = asyncio.ensure_future(anext(stream))
    await adapter.reading.wait()
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    await stream.aclose()
    spent, [row], holds = await ledger_state(hub, call)
    assert row.status == "stopped" and row.output_tokens == 0 and holds == 0
    assert spent == row.cost_nanos == pricing.token_cost_nanos(ENTRY, call.prompt_tokens, 0)
