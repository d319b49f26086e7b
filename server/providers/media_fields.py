"""Shared checks of media request fields (a value a provider cannot take is a 422 naming the field) and the
probe of a finished video's content, used by the media adapters of every wire format."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import httpx

from server.errors import UpstreamError, ValidationFailed
from server.providers.http import error_from_exception, error_from_status


def invalid(name: str, msg: str) -> ValidationFailed:
    return ValidationFailed.single(["body", name], msg)


def choice(fields: Mapping[str, Any], name: str, allowed: tuple[str, ...], who: str) -> Any:
    """The field's value when allowed (None when unset), else a 422 naming the field and the allowed values."""
    value = fields.get(name)
    if value is None:
        return None
    if value not in allowed:
        raise invalid(name, f"{value!r} is not supported by {who}; use one of: {', '.join(allowed)}")
    return value


def int_range(fields: Mapping[str, Any], name: str, low: int, high: int, who: str) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(name, f"{name} must be an integer from {low} to {high} for {who}")
    return value


def data_url(value: str, default_mime: str = "image/png") -> tuple[str, str]:
    """(mime, base64) of a data URL or of bare base64; a 422-worthy ValueError for anything else."""
    if value.startswith("data:"):
        head, sep, payload = value.partition(",")
        if not sep or ";base64" not in head:
            raise ValueError("a data URL must be base64-encoded (data:<mime>;base64,...)")
        return head[5:].split(";")[0] or default_mime, payload
    try:
        base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError("expected an http(s) URL, a data URL or base64 data") from None
    return default_mime, value


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


async def content_info(
    client: httpx.AsyncClient, provider: str, url: str, send_headers: dict, *, byok: bool, hops: int = 3
) -> tuple[str, int | None]:
    """(content type, size in bytes) of a downloadable result, reading no more of it than needed.

    Redirects (e.g. to a signed storage URL) are followed WITHOUT the credentials: httpx would forward custom
    key headers such as x-goog-api-key to another host.
    """
    try:
        async with client.stream("GET", url, headers=send_headers) as response:
            location = response.headers.get("location")
            if response.is_redirect and location:
                if hops <= 0:
                    raise UpstreamError(provider, 502, "too many redirects for the generated file")
                target = str(response.url.join(location))
                return await content_info(client, provider, target, {}, byok=byok, hops=hops - 1)
            if response.status_code >= 400:
                raise error_from_status(provider, response.status_code, await response.aread(), byok=byok)
            content_type = response.headers.get("content-type", "video/mp4").split(";")[0].strip() or "video/mp4"
            length = response.headers.get("content-length")
            if length is not None and length.isdigit() and "content-encoding" not in response.headers:
                return content_type, int(length)
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
            return content_type, size
    except httpx.HTTPError as exc:
        raise error_from_exception(provider, exc) from exc
