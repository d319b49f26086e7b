"""Fetches a caller's https image or file for providers that need inline bytes, without becoming an SSRF hop.

Every hop (redirects included, at most 3) must be https to a host whose every address is public: loopback,
private, link-local (cloud metadata 169.254.169.254 among them), multicast, reserved and unspecified
addresses are refused, as are the metadata host names. The body is capped in size and time and must have an
allowed content type. Problems are the caller's: a 422 naming the message part. `HUB_FETCH_ALLOW_LOOPBACK=1`
(tests only) lets plain-http loopback URLs through.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from server.errors import ValidationFailed

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
FILE_TYPES = frozenset({"application/pdf"})
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})
_MAX_REDIRECTS = 3


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int = 20 * 1024 * 1024  # the smallest per-image limit of the providers (Groq: 20 MB)
    timeout: float = 10.0  # seconds for the whole fetch
    allow_loopback: bool = False  # tests: http://127.0.0.1 fakes


def policy_from_env() -> FetchPolicy:
    return FetchPolicy(
        max_bytes=int(os.environ.get("HUB_FETCH_MAX_BYTES") or FetchPolicy.max_bytes),
        allow_loopback=(os.environ.get("HUB_FETCH_ALLOW_LOOPBACK") or "").lower() in ("1", "true", "yes"),
    )


@dataclass(frozen=True)
class Fetched:
    mime_type: str
    data: bytes

    @property
    def b64(self) -> str:
        return base64.b64encode(self.data).decode()

    @property
    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{self.b64}"


def _refused(loc: list, why: str) -> ValidationFailed:
    return ValidationFailed([{"loc": loc, "msg": f"Cannot fetch this URL: {why}", "type": "value_error"}])


def _public(address: str, allow_loopback: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return not (ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified)


async def _check_host(url: str, policy: FetchPolicy, loc: list) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme != "https" and not (policy.allow_loopback and parts.scheme == "http"):
        raise _refused(loc, "only https URLs are fetched")
    if not host or host in _METADATA_HOSTS or host.endswith(".internal"):
        raise _refused(loc, "the host is not public")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        raise _refused(loc, f"the host '{host}' does not resolve") from None
    if not infos or not all(_public(info[4][0], policy.allow_loopback) for info in infos):
        raise _refused(loc, "the host resolves to a loopback, private, link-local or reserved address")


async def fetch(
    client: httpx.AsyncClient, url: str, allowed: frozenset[str], loc: list, policy: FetchPolicy
) -> Fetched:
    """The bytes and content type at `url`, or a 422 at `loc` saying why not."""
    try:
        async with asyncio.timeout(policy.timeout):
            for _ in range(_MAX_REDIRECTS + 1):
                await _check_host(url, policy, loc)
                async with client.stream("GET", url, follow_redirects=False) as response:
                    if response.is_redirect and (target := response.headers.get("location")):
                        url = urljoin(url, target)
                        continue
                    if response.status_code != 200:
                        raise _refused(loc, f"it answered HTTP {response.status_code}")
                    mime = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                    if mime not in allowed:
                        raise _refused(
                            loc, f"content type '{mime or 'none'}' is not one of {', '.join(sorted(allowed))}"
                        )
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                        raise _refused(loc, f"it is larger than {policy.max_bytes} bytes")
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > policy.max_bytes:
                            raise _refused(loc, f"it is larger than {policy.max_bytes} bytes")
                    return Fetched(mime, bytes(body))
            raise _refused(loc, "too many redirects")
    except TimeoutError:
        raise _refused(loc, f"no complete answer within {policy.timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise _refused(loc, f"{type(exc).__name__}") from None


def parse_data_url(url: str) -> tuple[str, str] | None:
    """("image/png", "<base64>") of a base64 data URL, else None."""
    if not url.startswith("data:") or ";base64," not in url:
        return None
    head, data = url[5:].split(";base64,", 1)
    return head.split(";", 1)[0].strip().lower(), data
