"""The shared HTTP layer for all adapters: one pooled client, one error mapping, one retry policy.

Adapters never see httpx exceptions or raw upstream statuses: everything becomes a `HubError` here, so the
gateway answers the same way whichever provider failed. Request bodies and API keys are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import orjson
from httpx_sse import EventSource, ServerSentEvent
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from server.errors import BadRequest, HubError, NotFound, UpstreamError

log = logging.getLogger("hub.providers")

T = TypeVar("T")

_MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failure that happened before any output is retried, how long to wait in between, and the
    deadlines: `total_timeout` bounds one call including its retries (for a stream: until the provider accepted
    it), `stream_idle_timeout` the silence between two stream events. None: unbounded."""

    retries: int = 2
    base_wait: float = 0.2  # seconds; doubles per attempt, plus up to base_wait of jitter
    max_wait: float = 5.0
    total_timeout: float | None = None
    stream_idle_timeout: float | None = None


_DEFAULT_POLICY = RetryPolicy()
_policies: weakref.WeakKeyDictionary[httpx.AsyncClient, RetryPolicy] = weakref.WeakKeyDictionary()


def create_client(
    *,
    connect_timeout: float = 5.0,
    read_timeout: float = 120.0,
    write_timeout: float = 30.0,
    pool_timeout: float = 10.0,
    max_connections: int = 512,
    max_keepalive_connections: int = 128,
    keepalive_expiry: float = 30.0,
    retries: int = 2,
    retry_base_wait: float = 0.2,
    retry_max_wait: float = 5.0,
    total_timeout: float | None = None,
    stream_idle_timeout: float | None = None,
    trust_env: bool = True,
) -> httpx.AsyncClient:
    """The one client the gateway shares across requests (HTTP/1.1, pooled); its retry policy travels with it.

    `read_timeout` is the longest silence tolerated between two bytes of an answer, not a total deadline.
    """
    client = httpx.AsyncClient(
        http1=True,
        http2=False,
        timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=write_timeout, pool=pool_timeout),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
        ),
        follow_redirects=False,
        trust_env=trust_env,
    )
    _policies[client] = RetryPolicy(
        retries=max(0, retries),
        base_wait=retry_base_wait,
        max_wait=retry_max_wait,
        total_timeout=total_timeout,
        stream_idle_timeout=stream_idle_timeout,
    )
    return client


def retry_policy(client: httpx.AsyncClient) -> RetryPolicy:
    """The policy `create_client` attached to this client; the default one for other clients."""
    return _policies.get(client, _DEFAULT_POLICY)


# ---------------------------------------------------------------------------------------------- error mapping


def provider_message(body: bytes | str | None) -> str:
    """The provider's own error message from its JSON error body, else the (shortened) body text."""
    if not body:
        return ""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return text.strip()[:_MAX_MESSAGE_CHARS]
    if isinstance(data, list) and data:  # Gemini may wrap errors in a list
        data = data[0]
    message: Any = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            message = err.get("message")
        elif isinstance(err, str):
            message = err
        message = message or data.get("message") or data.get("detail")
    if message is None:
        return ""
    return (message if isinstance(message, str) else orjson.dumps(message).decode())[:_MAX_MESSAGE_CHARS]


def _is_invalid_key(status: int, body: bytes | str | None) -> bool:
    """Gemini answers a wrong API key with 400 API_KEY_INVALID rather than 401."""
    if status != 400 or not body:
        return False
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return "API_KEY_INVALID" in text or "API key not valid" in text


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """A provider's `Retry-After` in seconds (the delta-seconds form; an HTTP date is ignored), passed on to
    the caller with a 429."""
    value = (headers or {}).get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


def error_from_status(
    provider: str,
    status: int,
    body: bytes | str | None = None,
    *,
    byok: bool = False,
    headers: Mapping[str, str] | None = None,
) -> HubError:
    """The gateway's error for an upstream HTTP error status.

    429 stays 429; a rejected key is the operator's problem (502), not the caller's (401); 400/422 and 404 are
    the caller's request, reported as such; 503/529 mean "overloaded" (503); other 5xx become 502.
    """
    msg = provider_message(body) or f"HTTP {status}"
    if status in (401, 403) or _is_invalid_key(status, body):
        whose = "the supplied API key" if byok else "the gateway's credentials"
        return UpstreamError(provider, 502, f"the provider rejected {whose} (HTTP {status})")
    if status == 429:
        return UpstreamError(
            provider, 429, f"rate limited: {msg}", retryable=True, retry_after=retry_after_seconds(headers)
        )
    if status == 404:
        return NotFound(f"Model not found at provider '{provider}': {msg}")
    if status == 402:  # e.g. DeepSeek: the operator's account at the provider ran out of balance
        return UpstreamError(provider, 502, f"payment required at the provider: {msg}")
    if status == 408:
        return UpstreamError(provider, 504, f"the provider timed out: {msg}", retryable=True)
    if 400 <= status < 500:
        return BadRequest(f"Provider '{provider}' rejected the request: {msg}")
    if status in (503, 529):
        return UpstreamError(provider, 503, f"unavailable: {msg}", retryable=True)
    return UpstreamError(provider, 502, f"HTTP {status}: {msg}", retryable=status in (502, 504))


def error_from_exception(provider: str, exc: httpx.HTTPError) -> UpstreamError:
    """The gateway's error for a transport failure before the answer began.

    Connect failures are safe to retry (nothing reached the provider). Read timeouts are not retried: the
    provider may still be generating, and a retry would multiply the caller's wait by the read timeout.
    """
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return UpstreamError(provider, 503, f"could not connect: {detail}", retryable=True)
    if isinstance(exc, httpx.PoolTimeout):
        return UpstreamError(provider, 503, "too many concurrent upstream requests", retryable=True)
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError(provider, 504, f"timed out waiting for the provider ({type(exc).__name__})")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.NetworkError):  # e.g. a stale keep-alive connection
        return UpstreamError(provider, 502, f"connection failed: {detail}", retryable=True)
    return UpstreamError(provider, 502, f"request failed: {detail}")


# ---------------------------------------------------------------------------------------------- calls


async def with_retries(client: httpx.AsyncClient, provider: str, call: Callable[[], Awaitable[T]]) -> T:
    """Runs `call`, retrying retryable `UpstreamError`s with exponential backoff (tenacity), all within the
    policy's total deadline: when it passes, the attempt in flight is cancelled and the answer is a 504."""
    policy = retry_policy(client)
    if policy.total_timeout is None:
        return await _attempts(policy, provider, call)
    try:
        async with asyncio.timeout(policy.total_timeout):
            return await _attempts(policy, provider, call)
    except TimeoutError:
        raise UpstreamError(
            provider, 504, f"no answer within {policy.total_timeout:g} s (HUB_UPSTREAM_TOTAL_TIMEOUT)"
        ) from None


async def _attempts(policy: RetryPolicy, provider: str, call: Callable[[], Awaitable[T]]) -> T:
    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        status = getattr(exc, "http_status", "?")
        log.warning("provider %s: attempt %d failed (%s), retrying", provider, state.attempt_number, status)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.retries + 1),
        wait=wait_exponential(multiplier=policy.base_wait, max=policy.max_wait) + wait_random(0, policy.base_wait),
        retry=retry_if_exception(lambda e: isinstance(e, UpstreamError) and e.retryable),
        before_sleep=log_retry,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity reraises the last error")


def _json_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {**headers, "content-type": "application/json"}


async def send_checked(
    client: httpx.AsyncClient, provider: str, send: Callable[[], Awaitable[httpx.Response]], *, byok: bool = False
) -> httpx.Response:
    """Runs `send` with retries; a transport failure or an error status becomes a `HubError`. Every call that
    is not a stream goes through here, so all of them share one error mapping and one retry policy."""

    async def once() -> httpx.Response:
        try:
            response = await send()
        except httpx.HTTPError as exc:
            raise error_from_exception(provider, exc) from exc
        if response.status_code >= 400:
            raise error_from_status(
                provider, response.status_code, response.content, byok=byok, headers=response.headers
            )
        return response

    return await with_retries(client, provider, once)


def _json_answer(provider: str, response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise UpstreamError(provider, 502, "the provider answered with invalid JSON") from None


async def post_json(
    client: httpx.AsyncClient,
    provider: str,
    url: str,
    headers: Mapping[str, str],
    body: Any,
    *,
    byok: bool = False,
) -> Any:
    """POSTs a JSON body and returns the JSON answer, with retries; every failure is a `HubError`."""
    response = await send_checked(
        client,
        provider,
        lambda: client.post(url, headers=_json_headers(headers), content=orjson.dumps(body)),
        byok=byok,
    )
    return _json_answer(provider, response)


async def get_json(
    client: httpx.AsyncClient, provider: str, url: str, headers: Mapping[str, str], *, byok: bool
) -> Any:
    """GETs a JSON document, with the same retries and error mapping as post_json."""
    response = await send_checked(client, provider, lambda: client.get(url, headers=headers), byok=byok)
    return _json_answer(provider, response)


@asynccontextmanager
async def open_sse(
    client: httpx.AsyncClient,
    provider: str,
    url: str,
    headers: Mapping[str, str],
    body: Any,
    *,
    byok: bool = False,
) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    """Opens an SSE stream (retrying until the provider accepted it) and yields its events.

    Leaving the block, normally, by error, by cancellation or because the consumer closed its generator,
    closes the upstream response at once, so the provider stops generating. Failures while reading become
    `UpstreamError`s: 504 for a stall longer than the read timeout, 502 for a broken stream.
    """
    send_headers = {**_json_headers(headers), "accept": "text/event-stream", "cache-control": "no-store"}
    content = orjson.dumps(body)

    async def connect() -> httpx.Response:
        request = client.build_request("POST", url, headers=send_headers, content=content)
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise error_from_exception(provider, exc) from exc
        if response.status_code < 400 and "text/event-stream" in response.headers.get("content-type", ""):
            return response
        try:
            error_body = await response.aread()
        except httpx.HTTPError:
            error_body = b""
        finally:
            await response.aclose()
        if response.status_code >= 400:
            raise error_from_status(provider, response.status_code, error_body, byok=byok, headers=response.headers)
        raise UpstreamError(provider, 502, "the provider did not answer with an event stream")

    response = await with_retries(client, provider, connect)
    events = _read_events(provider, response, retry_policy(client).stream_idle_timeout)
    try:
        yield events
    finally:
        await events.aclose()
        await response.aclose()


async def _read_events(
    provider: str, response: httpx.Response, idle_timeout: float | None
) -> AsyncIterator[ServerSentEvent]:
    """The stream's events; a gap longer than `idle_timeout` between two of them ends it with a 504."""
    source = EventSource(response).aiter_sse()
    try:
        while True:
            try:
                async with asyncio.timeout(idle_timeout):
                    event = await anext(source)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise UpstreamError(
                    provider, 504, f"the stream was silent for more than {idle_timeout:g} s (HUB_STREAM_IDLE_TIMEOUT)"
                ) from None
            yield event
    except httpx.TimeoutException as exc:
        raise UpstreamError(provider, 504, "timed out waiting for the provider's stream") from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(provider, 502, f"the stream broke off: {str(exc) or type(exc).__name__}") from exc
    finally:
        await source.aclose()


def event_json(provider: str, event: ServerSentEvent) -> Any:
    """The JSON payload of one SSE event."""
    try:
        return orjson.loads(event.data)
    except orjson.JSONDecodeError:
        raise UpstreamError(provider, 502, "the provider sent an invalid stream event") from None


def stream_ended_early(provider: str) -> UpstreamError:
    """The stream closed cleanly but without the provider's final event."""
    return UpstreamError(provider, 502, "the stream ended before the provider finished its answer")
