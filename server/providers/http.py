"""The shared HTTP layer for all adapters: one pooled client, one error mapping, one retry policy.

Adapters never see transport exceptions or raw upstream statuses: everything becomes a `HubError` here, so
the gateway answers the same way whichever provider failed. Request bodies and API keys are never logged.

JSON calls and event streams (every chat, embedding and image call) go through pyreqwest, a client on Rust's
reqwest and hyper: the connection work and HTTP parsing run on its own thread without the GIL, so the event
loop spends about a sixth of the CPU per call that an aiohttp session cost it, and a quarter per stream
(README "Benchmarks"). httpx stays for the few calls that need its API (multipart uploads, streamed media
downloads).
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import orjson
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder  # the SSE parser httpx-sse itself uses (pinned)
from pyreqwest import exceptions as reqwest_errors
from pyreqwest.client import Client as ReqwestClient
from pyreqwest.client import ClientBuilder
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


class UpstreamClient(httpx.AsyncClient):
    """The one upstream client: httpx for the rare calls, and `reqwest_client()` (pyreqwest) for `post_json`,
    `get_json` and `open_sse`, with the same timeouts and pool size. Carries its retry policy."""

    def __init__(
        self,
        *,
        policy: RetryPolicy,
        reqwest_options: dict[str, Any],
        **httpx_options: Any,
    ) -> None:
        super().__init__(**httpx_options)
        self.policy = policy
        self._reqwest_options = reqwest_options
        self._reqwest_client: ReqwestClient | None = None

    def reqwest_client(self) -> ReqwestClient:
        """The pyreqwest client, created on first use (on the event loop that will await its calls)."""
        if self._reqwest_client is None:
            self._reqwest_client = _reqwest_client(**self._reqwest_options)
        return self._reqwest_client

    async def aclose(self) -> None:
        await self._close_own()
        await super().aclose()

    async def __aexit__(self, *exc_info: Any) -> None:  # httpx's __aexit__ does not go through aclose()
        await self._close_own()
        await super().__aexit__(*exc_info)

    async def _close_own(self) -> None:
        if self._reqwest_client is not None:
            await self._reqwest_client.close()
            self._reqwest_client = None


def _reqwest_client(
    *,
    connect_timeout: float,
    read_timeout: float,
    pool_timeout: float,
    max_connections: int,
    max_keepalive_connections: int,
    keepalive_expiry: float,
    use_proxy: bool,
) -> ReqwestClient:
    """No redirects followed (as httpx); `read_timeout` is the silence between two reads; at most
    `max_connections` calls at once, and a call waiting longer than `pool_timeout` for its turn fails. The proxy
    variables are read only when one is configured (reqwest reads them by default)."""
    builder = (
        ClientBuilder()
        .follow_redirects(False)
        .connect_timeout(timedelta(seconds=connect_timeout))
        .read_timeout(timedelta(seconds=read_timeout))
        .pool_timeout(timedelta(seconds=pool_timeout))
        .max_connections(max_connections)
        .pool_max_idle_per_host(max_keepalive_connections)
        .pool_idle_timeout(timedelta(seconds=keepalive_expiry))
    )
    return (builder if use_proxy else builder.no_proxy()).build()


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
) -> UpstreamClient:
    """The one client the gateway shares across requests (HTTP/1.1, pooled); its retry policy travels with it.

    `read_timeout` is the longest silence tolerated between two bytes of an answer, not a total deadline.
    """
    policy = RetryPolicy(
        retries=max(0, retries),
        base_wait=retry_base_wait,
        max_wait=retry_max_wait,
        total_timeout=total_timeout,
        stream_idle_timeout=stream_idle_timeout,
    )
    reqwest_options = {
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
        "pool_timeout": pool_timeout,
        "max_connections": max_connections,
        "max_keepalive_connections": max_keepalive_connections,
        "keepalive_expiry": keepalive_expiry,
        "use_proxy": trust_env and _proxy_configured(),
    }
    return UpstreamClient(
        policy=policy,
        reqwest_options=reqwest_options,
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


def _proxy_configured() -> bool:
    return any(
        name.lower().endswith("_proxy") and name.lower() != "no_proxy" and value for name, value in os.environ.items()
    )


def retry_policy(client: httpx.AsyncClient) -> RetryPolicy:
    """The policy `create_client` attached to this client; the default one for other clients."""
    return client.policy if isinstance(client, UpstreamClient) else _DEFAULT_POLICY


def _upstream(client: httpx.AsyncClient) -> UpstreamClient:
    if not isinstance(client, UpstreamClient):
        raise TypeError("upstream calls need the client made by server.providers.http.create_client")
    return client


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


def _transport_error(provider: str, failure: str, detail: str) -> UpstreamError:
    """The one mapping of transport failures to statuses, whichever client saw them.

    Connect failures are safe to retry (nothing reached the provider). Read timeouts are not retried: the
    provider may still be generating, and a retry would multiply the caller's wait by the read timeout.
    """
    if failure == "connect":
        return UpstreamError(provider, 503, f"could not connect: {detail}", retryable=True)
    if failure == "pool":
        return UpstreamError(provider, 503, "too many concurrent upstream requests", retryable=True)
    if failure == "silent":
        return UpstreamError(provider, 504, f"timed out waiting for the provider ({detail})")
    if failure == "broken":  # e.g. a stale keep-alive connection, or one closed mid-answer
        return UpstreamError(provider, 502, f"connection failed: {detail}", retryable=True)
    return UpstreamError(provider, 502, f"request failed: {detail}")


def error_from_exception(provider: str, exc: httpx.HTTPError) -> UpstreamError:
    """The gateway's error for a transport failure of the httpx client before the answer began."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return _transport_error(provider, "connect", detail)
    if isinstance(exc, httpx.PoolTimeout):
        return _transport_error(provider, "pool", detail)
    if isinstance(exc, httpx.TimeoutException):
        return _transport_error(provider, "silent", type(exc).__name__)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.NetworkError):
        return _transport_error(provider, "broken", detail)
    return _transport_error(provider, "other", detail)


def error_from_reqwest(provider: str, exc: reqwest_errors.RequestError) -> UpstreamError:
    """`error_from_exception` for the pyreqwest client.

    reqwest reports every failure on a connection its connector opened as a connect error, a read timeout and a
    connection closed before the answer too; only a failure while connecting carries hyper's "client error
    (Connect)" cause, so that cause, not the exception's class, says whether anything reached the provider."""
    detail = _reqwest_detail(exc)
    if isinstance(exc, reqwest_errors.PoolTimeoutError):
        return _transport_error(provider, "pool", detail)
    if _while_connecting(exc):
        timed_out = isinstance(exc, reqwest_errors.RequestTimeoutError)
        return _transport_error(provider, "connect", f"timed out ({detail})" if timed_out else detail)
    if isinstance(exc, reqwest_errors.RequestTimeoutError):  # silence longer than the read timeout
        return _transport_error(provider, "silent", "ReadTimeout")
    if isinstance(exc, reqwest_errors.NetworkError | reqwest_errors.DecodeError):
        return _transport_error(provider, "broken", detail)
    return _transport_error(provider, "other", detail)


def _causes(exc: reqwest_errors.RequestError) -> list[str]:
    details = getattr(exc, "details", None)
    causes = details.get("causes") if isinstance(details, dict) else None
    return [str(c.get("message", "")) for c in causes or () if isinstance(c, dict)]


def _while_connecting(exc: reqwest_errors.RequestError) -> bool:
    return any(cause.startswith("client error (Connect)") for cause in _causes(exc))


def _reqwest_detail(exc: reqwest_errors.RequestError) -> str:
    """The innermost cause pyreqwest reports (e.g. "Connection refused (os error 111)"), else its message."""
    causes = [cause for cause in _causes(exc) if cause]
    return causes[-1] if causes else str(getattr(exc, "message", "") or type(exc).__name__)


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
    """The first attempt runs bare (most calls succeed: no retry machinery per call); a retryable failure
    hands over to tenacity, which counts it as the first attempt."""
    try:
        return await call()
    except UpstreamError as exc:
        if not exc.retryable or policy.retries == 0:
            raise
        first_failure: list[UpstreamError] = [exc]

    async def again() -> T:
        if first_failure:
            raise first_failure.pop()
        return await call()

    return await _retrying(policy, provider, again)


async def _retrying(policy: RetryPolicy, provider: str, call: Callable[[], Awaitable[T]]) -> T:
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


def _json_answer(provider: str, content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        raise UpstreamError(provider, 502, "the provider answered with invalid JSON") from None


async def _fetch_json(
    client: httpx.AsyncClient,
    provider: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    data: bytes | None,
    *,
    byok: bool,
) -> Any:
    """One JSON exchange over the pyreqwest client, with retries; every failure is a `HubError`."""
    upstream = _upstream(client).reqwest_client()

    async def once() -> bytes:
        request = upstream.request(method, url).headers(headers)
        if data is not None:
            request = request.body_bytes(data)
        try:
            response = await request.build().send()
            content = bytes(await response.bytes())
        except reqwest_errors.RequestError as exc:
            raise error_from_reqwest(provider, exc) from exc
        if response.status >= 400:
            raise error_from_status(provider, response.status, content, byok=byok, headers=response.headers)
        return content

    return _json_answer(provider, await with_retries(client, provider, once))


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
    return await _fetch_json(client, provider, "POST", url, _json_headers(headers), orjson.dumps(body), byok=byok)


async def get_json(
    client: httpx.AsyncClient, provider: str, url: str, headers: Mapping[str, str], *, byok: bool
) -> Any:
    """GETs a JSON document, with the same retries and error mapping as post_json."""
    return await _fetch_json(client, provider, "GET", url, headers, None, byok=byok)


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
    upstream = _upstream(client).reqwest_client()
    send_headers = {**_json_headers(headers), "accept": "text/event-stream", "cache-control": "no-store"}
    content = orjson.dumps(body)

    async def connect() -> tuple[Any, Any]:
        # No read-ahead: with its default buffer pyreqwest answers only once that buffer is full or the stream
        # has ended (the first event would wait for the last, and a stream cut meanwhile loses its events); with
        # any buffer it answers only with the first body bytes, where the provider accepting the call (the end of
        # the total timeout's reach) is its headers.
        call = upstream.post(url).headers(send_headers).body_bytes(content).streamed_read_buffer_limit(0)
        call = call.build_streamed()
        try:
            response = await call.__aenter__()
        except reqwest_errors.RequestError as exc:
            raise error_from_reqwest(provider, exc) from exc
        if response.status < 400 and "text/event-stream" in (response.headers.get("content-type") or ""):
            return call, response
        try:
            error_body = bytes(await response.body_reader.bytes())
        except reqwest_errors.RequestError:
            error_body = b""
        finally:
            await call.__aexit__(None, None, None)
        if response.status >= 400:
            raise error_from_status(provider, response.status, error_body, byok=byok, headers=response.headers)
        raise UpstreamError(provider, 502, "the provider did not answer with an event stream")

    call, response = await with_retries(client, provider, connect)
    events = _read_events(provider, response, retry_policy(client).stream_idle_timeout)
    try:
        yield events
    finally:
        await events.aclose()
        # Read to the end, the connection goes back to the pool; left early, it is closed, which tells the
        # provider to stop.
        await call.__aexit__(None, None, None)


async def _sse_events(response: Any) -> AsyncIterator[ServerSentEvent]:
    """The response body as server-sent events, parsed by httpx-sse's decoders (the spec's line rules)."""
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines, events = SSELineDecoder(), SSEDecoder()
    reader = response.body_reader
    while (chunk := await reader.read_chunk()) is not None:
        for line in lines.decode(text.decode(bytes(chunk))):
            if (event := events.decode(line)) is not None:
                yield event
    for line in lines.flush():
        if (event := events.decode(line)) is not None:
            yield event


async def _read_events(provider: str, response: Any, idle_timeout: float | None) -> AsyncIterator[ServerSentEvent]:
    """The stream's events; a gap longer than `idle_timeout` between two of them ends it with a 504."""
    source = _sse_events(response)
    try:
        while True:
            try:
                async with asyncio.timeout(idle_timeout):
                    event = await anext(source)
            except StopAsyncIteration:
                return
            except reqwest_errors.RequestTimeoutError as exc:  # the client's read timeout
                raise UpstreamError(provider, 504, "timed out waiting for the provider's stream") from exc
            except TimeoutError:
                raise UpstreamError(
                    provider, 504, f"the stream was silent for more than {idle_timeout:g} s (HUB_STREAM_IDLE_TIMEOUT)"
                ) from None
            yield event
    except reqwest_errors.RequestError as exc:
        detail = _reqwest_detail(exc)
        raise UpstreamError(provider, 502, f"the stream broke off: {detail}") from exc
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
