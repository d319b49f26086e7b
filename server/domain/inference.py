"""Chat and completions: route, reserve, call the provider, stream, and settle exactly once.

Errors before the first byte become HTTP errors; once a stream has begun, they are reported inside it.
Stopping a stream or disconnecting cancels the upstream request and bills the usage produced so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from server.catalog import pricing
from server.domain import billing, responses, tokens
from server.domain.caller import Caller
from server.domain.routing import Route, resolve
from server.errors import HubError, UpstreamError, sse_error_event
from server.hub import Hub
from server.providers import registry
from server.providers.base import ChatParams, Delta, StreamEnd, TokenCounts

log = logging.getLogger("hub.inference")

DEFAULT_MAX_OUTPUT = 4096
INPUT_MARGIN = 1.25  # our tokenizer is close to, not equal to, every provider's


@dataclass
class ChatCall:
    """A validated, routed and paid-for (reserved) call, ready to run."""

    endpoint: str  # "chat" | "completion"
    route: Route
    params: ChatParams
    reservation: billing.Reservation
    prompt_tokens: int
    started: float = field(default_factory=time.perf_counter)
    created_at: int = field(default_factory=lambda: int(time.time()))

    @property
    def response_id(self) -> str:
        return self.reservation.request_id

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def _max_output(route: Route, requested: int | None) -> int:
    model_max = route.entry.get("maxOutputTokens") or DEFAULT_MAX_OUTPUT
    return min(requested, model_max) if requested else model_max


async def prepare(hub: Hub, caller: Caller, *, endpoint: str, params: ChatParams) -> ChatCall:
    """Routes the call and reserves its maximum cost; raises 402/404/503 before anything is sent upstream."""
    route = resolve(hub, caller.provider, caller.model, "text_completions", caller.byok_key)
    params.model = route.model
    max_out = _max_output(route, params.max_tokens)
    if route.config.wire_format == "anthropic" and not params.max_tokens:
        params.max_tokens = max_out  # Anthropic requires it; we reserved for exactly this much
    prompt_tokens = tokens.count_messages(params.messages)
    worst_in = int(prompt_tokens * INPUT_MARGIN) + 16
    worst_case = pricing.token_cost_nanos(route.entry, worst_in, max_out)
    reservation = await billing.reserve_for(hub, caller, route, worst_case, tokens=worst_in + max_out)
    return ChatCall(endpoint, route, params, reservation, prompt_tokens)


def _adapter(call: ChatCall):
    return registry.adapter_for(call.route.config.wire_format)


def _counted(call: ChatCall, reported: TokenCounts | None, text: str, reasoning: str) -> TokenCounts:
    """The provider's usage when it reported one, else counted with the tokenizer."""
    if reported is not None and (reported.input_tokens or reported.output_tokens):
        return reported
    out = tokens.count_text(text) + tokens.count_text(reasoning)
    return TokenCounts(
        input_tokens=call.prompt_tokens, output_tokens=out, reasoning_tokens=tokens.count_text(reasoning)
    )


async def _settle(hub: Hub, call: ChatCall, status: str, usage: TokenCounts, **extra: Any) -> int:
    cost = pricing.token_cost_nanos(call.route.entry, usage.input_tokens, usage.output_tokens, usage.cached_tokens)
    outcome = billing.Outcome(
        endpoint=call.endpoint,
        provider=call.route.provider,
        model=call.route.model,
        status=status,
        cost_nanos=cost if status != "error" else 0,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        duration_ms=call.elapsed_ms(),
        request_content={"messages": call.params.messages},
        **extra,
    )
    return await billing.settle(hub, call.reservation, outcome)


async def _settle_failure(hub: Hub, call: ChatCall, exc: BaseException) -> None:
    message = exc.detail if isinstance(exc, HubError) and isinstance(exc.detail, str) else repr(exc)
    await _settle(hub, call, "error", TokenCounts(input_tokens=0), error=message)


def _status_for(finish_reason: str | None) -> str:
    return "incomplete" if finish_reason == "length" else "completed"


async def run_unary(hub: Hub, call: ChatCall) -> dict[str, Any]:
    try:
        result = await _adapter(call).chat(hub.extras["http"], call.route.config, call.params, call.route.api_key)
    except BaseException as exc:
        await asyncio.shield(_settle_failure(hub, call, exc))
        raise
    usage = _counted(call, result.usage, result.text, result.reasoning)
    charge = await asyncio.shield(_settle(hub, call, "success", usage, response_content={"text": result.text}))
    return responses.response_body(
        response_id=call.response_id,
        created_at=call.created_at,
        model=call.route.model,
        provider=call.route.provider,
        status=_status_for(result.finish_reason),
        text=result.text,
        usage=responses.usage_dict(usage, charge),
        duration_ms=call.elapsed_ms(),
        finish_reason=result.finish_reason,
    )


class _StreamState:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.end: StreamEnd | None = None
        self.first_token_ms: float | None = None


async def run_stream(hub: Hub, call: ChatCall) -> AsyncIterator[dict[str, Any]]:
    """Yields the documented events in order. Always settles once: done, failed, stopped or disconnected.

    Nothing is yielded until the provider produced its first item, so a failure before any output (429,
    5xx, rejected key) still reaches the caller as a plain HTTP error instead of a stream that died."""
    rid = call.response_id
    stop = await hub.extras["streams"].open(rid, call.reservation.user_id)
    state = _StreamState()
    upstream = _adapter(call).stream_chat(hub.extras["http"], call.route.config, call.params, call.route.api_key)
    settled = False
    first = asyncio.ensure_future(anext(upstream))
    try:
        try:
            await asyncio.wait({first})
            first.result()
        except StopAsyncIteration:
            pass
        except Exception as exc:
            if not isinstance(exc, HubError):
                log.exception("stream %s failed before any output", rid)
                exc = UpstreamError(call.route.provider, 502, f"stream failed: {type(exc).__name__}")
            await asyncio.shield(_settle_failure(hub, call, exc))
            settled = True
            raise exc from None
        yield responses.created_event(_partial_body(call, "in_progress", ""))
        yield responses.item_added_event(rid)
        yield responses.part_added_event(rid)
        error: BaseException | None = None
        stopped = False
        try:
            # aclosing: a client leaving mid-stream closes the reader (cancelling its pending read) before
            # the upstream response is closed below.
            async with contextlib.aclosing(_until_stopped(upstream, stop, first)) as items:
                async for item in items:
                    if item is None:
                        stopped = True
                        break
                    if isinstance(item, StreamEnd):
                        state.end = item
                        continue
                    if state.first_token_ms is None:
                        state.first_token_ms = call.elapsed_ms()
                    if item.kind == "reasoning":
                        if not state.reasoning:
                            yield responses.reasoning_started_event(rid)
                        state.reasoning.append(item.text)
                        yield responses.reasoning_delta_event(rid, item.text)
                    else:
                        state.text.append(item.text)
                        yield responses.text_delta_event(rid, item.text)
        except HubError as exc:
            error = exc
        except Exception as exc:
            log.exception("stream %s failed", rid)
            error = UpstreamError(call.route.provider, 502, f"stream failed: {type(exc).__name__}")
        text = "".join(state.text)
        if error is not None and not state.text and not state.reasoning:
            await asyncio.shield(_settle_failure(hub, call, error))
            settled = True
            yield sse_error_event(error)
            return
        status = "stopped" if stopped else ("failed" if error else _status_for(state.end and state.end.finish_reason))
        usage = _counted(
            call, None if (stopped or error) else state.end and state.end.usage, text, "".join(state.reasoning)
        )
        if state.end and state.end.usage and (stopped or error):
            usage.input_tokens = state.end.usage.input_tokens or usage.input_tokens
        charge = await asyncio.shield(
            _settle_stream(hub, call, state, "stopped" if stopped or error else "success", usage, error)
        )
        settled = True
        yield responses.item_done_event(rid, text, "completed" if status != "failed" else "incomplete")
        if error is not None:
            yield sse_error_event(error)
        finish = "stopped" if stopped else (state.end.finish_reason if state.end else None)
        body = _partial_body(call, status, text, usage=responses.usage_dict(usage, charge), finish_reason=finish)
        yield responses.done_event(body)
    finally:
        _in_background(hub, hub.extras["streams"].close(rid))
        if not first.done():  # the client left before the stream body began
            first.cancel()
        with contextlib.suppress(BaseException):
            await first
        with contextlib.suppress(Exception):
            await upstream.aclose()
        if not settled:  # the client went away: bill what was produced, in a task the cancellation cannot reach
            usage = _counted(call, None, "".join(state.text), "".join(state.reasoning))
            _in_background(hub, _settle_stream(hub, call, state, "stopped", usage, None))


def _in_background(hub: Hub, coro) -> None:
    """Runs cleanup that a cancelled request must still finish; close() waits for these."""
    task = asyncio.ensure_future(coro)
    hub.extras["background"].add(task)
    task.add_done_callback(hub.extras["background"].discard)


async def _settle_stream(
    hub: Hub, call: ChatCall, state: _StreamState, status: str, usage: TokenCounts, error: BaseException | None
) -> int:
    return await _settle(
        hub,
        call,
        status,
        usage,
        ttft_ms=state.first_token_ms,
        error=(error.detail if isinstance(error, HubError) else None) if error else None,
        response_content={"text": "".join(state.text)},
    )


async def _until_stopped(
    upstream: AsyncIterator, stop: asyncio.Event, first: asyncio.Future
) -> AsyncIterator[Delta | StreamEnd | None]:
    """Items of upstream (whose first read is already under way) until it ends or `stop` is set (then
    yields None once). Whatever ends this generator (stop, error, cancellation) cancels the pending read."""
    stop_wait = asyncio.ensure_future(stop.wait())
    nxt: asyncio.Future | None = first
    try:
        while True:
            nxt = nxt or asyncio.ensure_future(anext(upstream))
            done, _ = await asyncio.wait({nxt, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if nxt not in done:
                yield None
                return
            try:
                item = nxt.result()
            except StopAsyncIteration:
                return
            nxt = None
            yield item
    finally:
        stop_wait.cancel()
        if nxt is not None and not nxt.done():
            nxt.cancel()
            with contextlib.suppress(BaseException):
                await nxt


def _partial_body(call: ChatCall, status: str, text: str, usage=None, finish_reason=None) -> dict[str, Any]:
    return responses.response_body(
        response_id=call.response_id,
        created_at=call.created_at,
        model=call.route.model,
        provider=call.route.provider,
        status=status,
        text=text,
        usage=usage,
        duration_ms=call.elapsed_ms(),
        finish_reason=finish_reason,
        message="Stream stopped by the client" if status == "stopped" else "",
    )


__all__ = ["ChatCall", "UpstreamError", "prepare", "run_stream", "run_unary"]
