"""Chat and completions: route, reserve, call the provider, stream, and settle exactly once.

Errors before the first byte become HTTP errors; once a stream has begun, they are reported inside it.
Stopping a stream or disconnecting cancels the upstream request and bills the usage produced so far.

Fallbacks: `additional_params.fallbacks` (else the model's catalog `fallbacks`) lists further models. When
the current one fails before any output with a failure of the provider's (429, 5xx, timeout, connection
error; see `_falls_back`) or cannot be used (disabled, unknown, provider not configured), the next one is
tried with its own provider translation; a failure caused by the request (400/422) is answered as it is.
One reservation covers the dearest candidate's worst case and is settled once, at the price of the model
that served; each failed attempt leaves a usage record with status error and cost 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.catalog import pricing
from server.domain import billing, features, request_tokens, responses, tokens
from server.domain.caller import Caller
from server.domain.routing import Route, resolve, split_model
from server.errors import HubError, NotFound, Unavailable, UpstreamError, ValidationFailed, sse_error_event
from server.providers import openai_responses, registry
from server.providers.base import ChatCapability, ChatParams, Delta, StreamEnd, TokenCounts, ToolCall, ToolCallDelta

if TYPE_CHECKING:
    from server.hub import Hub

log = logging.getLogger("hub.inference")

DEFAULT_MAX_OUTPUT = 4096
INPUT_MARGIN = 1.25  # our tokenizer is close to, not equal to, every provider's
MAX_FALLBACKS = 5
CATEGORY = "text_completions"


@dataclass
class Candidate:
    """One model a call may be served by, resolved and priced."""

    route: Route
    adapter: ChatCapability
    max_out: int


@dataclass
class ChatCall:
    """A validated, routed and paid-for (reserved) call, ready to run."""

    endpoint: str  # "chat" | "completion"
    route: Route
    params: ChatParams
    meter: billing.Meter
    prompt_tokens: int
    adapter: ChatCapability  # the route's chat implementation (unit tests pass an in-process fake)
    created_at: int = field(default_factory=lambda: int(time.time()))
    fallbacks: list[Candidate] = field(default_factory=list)  # the candidates after the current one, in order

    @property
    def response_id(self) -> str:
        return self.meter.request_id

    def elapsed_ms(self) -> float:
        return self.meter.elapsed_ms()


def _max_output(route: Route, requested: int | None) -> int:
    model_max = route.entry.get("maxOutputTokens") or DEFAULT_MAX_OUTPUT
    return min(requested, model_max) if requested else model_max


async def prepare(hub: Hub, caller: Caller, *, endpoint: str, params: ChatParams) -> ChatCall:
    """Routes the call (and its fallbacks), checks that each candidate can do what the request asks (422
    before any call), and reserves the dearest candidate's maximum cost; raises 402/404/422/429/503 before
    anything is sent upstream."""
    names = _fallback_names(hub, caller)
    candidates, unusable = _candidates(hub, caller, names, params.max_tokens)
    for c in candidates:
        features.check(c.route.provider, c.route.config.wire_format, c.route.model, c.route.entry, params)
    # text, tool definitions and earlier calls, images and PDFs at their worst case, per wire format
    prompt_tokens = max(request_tokens.count_prompt(params, c.route.config.wire_format) for c in candidates)
    worst_in = int(prompt_tokens * INPUT_MARGIN) + 16
    worst_case = max(pricing.max_token_cost_nanos(c.route.entry, worst_in, c.max_out) for c in candidates)
    meter = await billing.meter(
        hub,
        caller,
        candidates[0].route,
        worst_case,
        endpoint=endpoint,
        request_content={"messages": params.messages},
        tokens=worst_in + max(c.max_out for c in candidates),
    )
    call = ChatCall(endpoint, candidates[0].route, params, meter, prompt_tokens, candidates[0].adapter)
    call.fallbacks = candidates[1:]
    for provider, model, exc in unusable:  # models passed over (disabled, unknown): failed attempts too
        meter.provider, meter.model = provider, model
        await meter.record_failed_attempt(exc)
    _use(call, candidates[0])
    return call


def _chat_adapter(route: Route) -> ChatCapability:
    """The route's chat implementation: the Responses API for OpenAI models the catalog says take tools with
    reasoning only there (`upstreamApi: "responses"`), else the wire format's chat adapter."""
    if route.config.wire_format == registry.OPENAI and route.entry.get("upstreamApi") == "responses":
        return openai_responses
    return registry.capability(route.config, "chat")


def _fallback_names(hub: Hub, caller: Caller) -> list[str]:
    """The request's `additional_params.fallbacks` (taken out of what is passed to the provider), else the
    model's catalog default; validated."""
    given = caller.extra.pop("fallbacks", None) if caller.extra else None
    if given is None:
        provider, model = split_model(caller.provider, caller.model, CATEGORY)
        entry = hub.catalog.find(provider.strip().lower(), model, CATEGORY)
        return list(entry.get("fallbacks") or []) if entry else []
    if (
        not isinstance(given, list)
        or len(given) > MAX_FALLBACKS
        or not all(isinstance(n, str) and "/" in n.strip("/") for n in given)
    ):
        raise ValidationFailed.single(
            ["body", "additional_params", "fallbacks"],
            f'fallbacks must be a list of at most {MAX_FALLBACKS} "provider/model" names',
        )
    return given


def _candidates(
    hub: Hub, caller: Caller, names: list[str], max_tokens: int | None
) -> tuple[list[Candidate], list[tuple[str, str, HubError]]]:
    """The usable candidates in order, and the ones passed over with why. Without fallbacks a model that cannot
    be used is answered as before (404/503); with them, only when none can be used."""
    specs = [(caller.provider, caller.model)] + [(None, n) for n in names]
    primary_provider = split_model(caller.provider, caller.model, CATEGORY)[0].strip().lower()
    candidates: list[Candidate] = []
    unusable: list[tuple[str, str, HubError]] = []
    for provider, model in specs:
        pid, mid = split_model(provider, model, CATEGORY)
        if caller.byok_key and pid.strip().lower() != primary_provider:
            raise ValidationFailed.single(
                ["body", "additional_params", "fallbacks"],
                "with byok_api_key, fallbacks must be models of the same provider (the key is not sent elsewhere)",
            )
        try:
            route = resolve(hub, provider, model, CATEGORY, caller.byok_key)
            adapter = _chat_adapter(route)
        except (NotFound, Unavailable) as exc:
            if not names:
                raise
            unusable.append((pid.strip().lower(), mid, exc))
            continue
        candidates.append(Candidate(route, adapter, _max_output(route, max_tokens)))
    if not candidates:
        raise unusable[0][2]
    return candidates, unusable


def _use(call: ChatCall, candidate: Candidate) -> None:
    """Makes `candidate` the model the call goes to (and is recorded and priced as)."""
    call.route, call.adapter = candidate.route, candidate.adapter
    call.params.model = candidate.route.model
    call.params.output_limit = candidate.max_out  # what the reservation covers (sent where a provider needs one)
    call.meter.provider, call.meter.model = candidate.route.provider, candidate.route.model


def _falls_back(call: ChatCall, error: HubError) -> bool:
    """Whether to move on to the next candidate: the provider failed (429, 5xx, timeout, connection error,
    a rejected gateway key), not the request (400/404/422 are answered as they are)."""
    return bool(call.fallbacks) and isinstance(error, UpstreamError)


async def _next_candidate(call: ChatCall, error: HubError) -> None:
    await call.meter.record_failed_attempt(error)
    log.info("request %s: %s failed (%s); falling back", call.response_id, call.route.provider, error.http_status)
    _use(call, call.fallbacks.pop(0))


def _counted(call: ChatCall, reported: TokenCounts | None, text: str, reasoning: str, calls: str = "") -> TokenCounts:
    """The provider's usage when it reported one, else counted with the tokenizer (`calls`: the tool-call
    names and arguments the model wrote)."""
    if reported is not None and (reported.input_tokens or reported.output_tokens):
        return reported
    out = tokens.count_text(text) + tokens.count_text(reasoning) + tokens.count_text(calls)
    return TokenCounts(
        input_tokens=call.prompt_tokens, output_tokens=out, reasoning_tokens=tokens.count_text(reasoning)
    )


def _usage_fields(call: ChatCall, status: str, usage: TokenCounts, **extra: Any) -> tuple[int, dict[str, Any]]:
    """The cost of `usage` at the model's price and the usage record's token fields."""
    cost = pricing.token_cost_nanos(
        call.route.entry,
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    fields = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cached_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        **extra,
    }
    return (cost if status != "error" else 0), fields


async def _settle(call: ChatCall, status: str, usage: TokenCounts, **extra: Any) -> int:
    cost, fields = _usage_fields(call, status, usage, **extra)
    return await call.meter.settle(status, cost, **fields)


def _status_for(finish_reason: str | None) -> str:
    return "incomplete" if finish_reason == "length" else "completed"


def _internal(call: ChatCall, exc: BaseException) -> HubError:
    """An exception that is not a domain error is our bug, not the provider's: a 500 logged with the request id."""
    if isinstance(exc, HubError):
        return exc
    log.error("request %s failed unexpectedly", call.response_id, exc_info=exc)
    return HubError("Internal server error")


async def run_unary(hub: Hub, call: ChatCall) -> dict[str, Any]:
    async with call.meter.guard():
        while True:
            try:
                result = await call.adapter.chat(
                    hub.http, call.route.config, call.params, call.route.api_key, byok=call.route.byok
                )
                break
            except Exception as exc:
                error = _internal(call, exc)
                if not _falls_back(call, error):
                    raise error from exc
                await _next_candidate(call, error)
    calls_text = "".join(c.name + c.arguments for c in result.tool_calls)
    usage = _counted(call, result.usage, result.text, result.reasoning, calls_text)
    charge = await _settle(call, "success", usage, response_content=_content(result.text, result.tool_calls))
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
        tool_calls=result.tool_calls,
    )


def _content(text: str, calls: list[ToolCall]) -> dict[str, Any]:
    """What the usage record keeps of the answer: its text and its tool calls."""
    content: dict[str, Any] = {"text": text}
    if calls:
        content["tool_calls"] = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls]
    return content


class _StreamState:
    def __init__(self, response_id: str) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls = responses.ToolCallEvents(response_id)
        self.end: StreamEnd | None = None
        self.first_token_ms: float | None = None

    @property
    def produced(self) -> bool:
        return bool(self.text or self.reasoning or self.calls.calls)


async def run_stream(hub: Hub, call: ChatCall) -> AsyncIterator[dict[str, Any]]:
    """Yields the documented events in order. Always settles once, by these rules:

    - the provider finished: its usage (or the counted tokens) at the model's price, status success;
    - the caller stopped the stream or went away: what was produced so far, status stopped;
    - the provider failed or broke off (before or after output), or we failed: cost 0, status error, with the
      tokens delivered recorded.

    Nothing is yielded until the provider produced its first item, so a failure before any output (429,
    5xx, rejected key) still reaches the caller as a plain HTTP error instead of a stream that died."""
    rid = call.response_id
    state = _StreamState(rid)
    upstream = call.adapter.stream_chat(
        hub.http, call.route.config, call.params, call.route.api_key, byok=call.route.byok
    )
    first = asyncio.ensure_future(anext(upstream))
    try:
        try:  # the stream's row (for stop-stream) is written while the provider call is under way
            stop = await hub.streams.open(rid, call.meter.reservation.user_id)
        except Exception as exc:  # ours: costs nothing (a client leaving meanwhile is billed as below)
            await call.meter.fail(_internal(call, exc))
            raise
        while True:  # until a candidate produced its first item (or the last one failed)
            try:
                await asyncio.wait({first})
                first.result()
            except StopAsyncIteration:
                pass
            except Exception as exc:
                error = _internal(call, exc)
                if not _falls_back(call, error):
                    await call.meter.fail(error)
                    raise error from None
                with contextlib.suppress(Exception):
                    await upstream.aclose()
                await _next_candidate(call, error)
                upstream = call.adapter.stream_chat(
                    hub.http, call.route.config, call.params, call.route.api_key, byok=call.route.byok
                )
                first = asyncio.ensure_future(anext(upstream))
                continue
            break
        yield responses.created_event(_partial_body(call, "in_progress", ""))
        yield responses.item_added_event(rid)
        yield responses.part_added_event(rid)
        error: HubError | None = None
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
                    if isinstance(item, ToolCallDelta):
                        for event in state.calls.feed(item.index, item.id, item.name, item.arguments):
                            yield event
                    elif item.kind == "reasoning":
                        if not state.reasoning:
                            yield responses.reasoning_started_event(rid)
                        state.reasoning.append(item.text)
                        yield responses.reasoning_delta_event(rid, item.text)
                    else:
                        state.text.append(item.text)
                        yield responses.text_delta_event(rid, item.text)
        except Exception as exc:
            error = _internal(call, exc)
        text = "".join(state.text)
        if error is not None and not state.produced:
            await call.meter.fail(error)
            yield sse_error_event(error)
            return
        reported = state.end.usage if state.end and not (stopped or error) else None
        usage = _counted(call, reported, text, "".join(state.reasoning), state.calls.arguments_text)
        if state.end and state.end.usage and (stopped or error):
            usage.input_tokens = state.end.usage.input_tokens or usage.input_tokens
        outcome = "error" if error else ("stopped" if stopped else "success")
        charge = await _settle_stream(call, state, outcome, usage, error)
        status = "failed" if error else ("stopped" if stopped else _status_for(state.end and state.end.finish_reason))
        call_status = "completed" if status in ("completed", "incomplete") else "incomplete"
        for event in state.calls.finish(call_status):
            yield event
        yield responses.item_done_event(rid, text, "completed" if status != "failed" else "incomplete")
        if error is not None:
            yield sse_error_event(error)
        finish = "stopped" if stopped else (state.end.finish_reason if state.end else None)
        body = _partial_body(
            call,
            status,
            text,
            usage=responses.usage_dict(usage, charge),
            finish_reason=finish,
            tool_calls=state.calls.calls,
            call_status=call_status,
        )
        yield responses.done_event(body)
    finally:
        hub.in_background(hub.streams.close(rid))
        if not first.done():  # the client left before the stream body began
            first.cancel()
        with contextlib.suppress(BaseException):
            await first
        with contextlib.suppress(Exception):
            await upstream.aclose()
        if not call.meter.settled:  # the client went away: bill what was produced, out of the cancellation's reach
            usage = _counted(call, None, "".join(state.text), "".join(state.reasoning), state.calls.arguments_text)
            cost, fields = _usage_fields(call, "stopped", usage, **_stream_fields(state, None))
            call.meter.settle_later("stopped", cost, **fields)


def _stream_fields(state: _StreamState, error: HubError | None) -> dict[str, Any]:
    return {
        "ttft_ms": state.first_token_ms,
        "error": error.detail if error is not None and isinstance(error.detail, str) else None,
        "response_content": _content("".join(state.text), state.calls.calls),
    }


async def _settle_stream(
    call: ChatCall, state: _StreamState, status: str, usage: TokenCounts, error: HubError | None
) -> int:
    return await _settle(call, status, usage, **_stream_fields(state, error))


async def _until_stopped(
    upstream: AsyncIterator, stop: asyncio.Event, first: asyncio.Future
) -> AsyncIterator[Delta | ToolCallDelta | StreamEnd | None]:
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


def _partial_body(
    call: ChatCall, status: str, text: str, usage=None, finish_reason=None, tool_calls=None, call_status="completed"
) -> dict[str, Any]:
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
        tool_calls=tool_calls,
        call_status=call_status,
    )


__all__ = ["ChatCall", "UpstreamError", "prepare", "run_stream", "run_unary"]
