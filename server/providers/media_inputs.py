"""Image and file parts of our (OpenAI-shaped) messages, for adapters: which a message holds, and turning
https ones into inline data URLs for providers that read only inline bytes (through `fetch`'s SSRF guard)."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from server.providers.base import ChatParams
from server.providers.fetch import FILE_TYPES, IMAGE_TYPES, fetch, policy_from_env


def _remote(url: Any) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://"))


async def inline_remote_files(client: httpx.AsyncClient, params: ChatParams, *, images: bool) -> ChatParams:
    """`params` with every https file part (and, with `images`, every https image part) made a data URL."""
    if not any(isinstance(m.get("content"), list) for m in params.messages):
        return params
    policy = None
    messages = []
    for i, message in enumerate(params.messages):
        content = message.get("content")
        if not isinstance(content, list):
            messages.append(message)
            continue
        parts = []
        for j, part in enumerate(content):
            loc = ["body", "messages", i, "content", j]
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "file" and _remote(part["file"].get("file_data")):
                policy = policy or policy_from_env()
                got = await fetch(client, part["file"]["file_data"], FILE_TYPES, [*loc, "file", "file_data"], policy)
                part = {"type": "file", "file": {**part["file"], "file_data": got.data_url}}
            elif kind == "image_url" and images and _remote(part["image_url"].get("url")):
                policy = policy or policy_from_env()
                got = await fetch(client, part["image_url"]["url"], IMAGE_TYPES, [*loc, "image_url", "url"], policy)
                part = {"type": "image_url", "image_url": {**part["image_url"], "url": got.data_url}}
            parts.append(part)
        messages.append({**message, "content": parts})
    return dataclasses.replace(params, messages=messages)


def part_kinds(messages: list[dict[str, Any]]) -> set[str]:
    """The content-part types used anywhere in the messages ("image_url", "file", ...)."""
    return {
        p.get("type")
        for m in messages
        if isinstance(m.get("content"), list)
        for p in m["content"]
        if isinstance(p, dict)
    }
