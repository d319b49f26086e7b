"""Images in the OpenAI wire format (`POST /images/generations`): GPT Image, DALL·E and xAI's Grok Imagine."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from server.errors import UpstreamError
from server.providers.base import (
    GeneratedImage,
    ImageCall,
    ProviderConfig,
)
from server.providers.http import post_json
from server.providers.media_fields import choice, int_range, invalid
from server.providers.openai_format import headers, merge_extra

_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
_GPT_IMAGE_FIELDS = ("user", "background", "moderation", "output_format", "output_compression")
XAI_ASPECT_RATIOS = (
    "1:1",
    "16:9",
    "9:16",
    "4:3",
    "3:4",
    "3:2",
    "2:3",
    "2:1",
    "1:2",
    "19.5:9",
    "9:19.5",
    "20:9",
    "9:20",
    "auto",
)
_RESERVED_IMAGE = frozenset({"model", "prompt", "n"})


def _gpt_image(model: str, fields: Mapping[str, Any], body: dict[str, Any]) -> tuple[str | None, str | None]:
    size = fields.get("size")
    if size is not None and size != "auto":
        m = _SIZE.match(size)
        if not m or not all(16 <= int(v) <= 4096 for v in m.groups()):
            raise invalid("size", f"{size!r} is not a size {model} accepts: use 'auto' or WIDTHxHEIGHT, e.g. 1024x1024")
    quality = choice(fields, "quality", ("auto", "low", "medium", "high"), model)
    if fields.get("response_format") not in (None, "b64_json"):
        raise invalid("response_format", f"{model} returns images as base64 only: use 'b64_json' or leave it unset")
    choice(fields, "background", ("transparent", "opaque", "auto"), model)
    choice(fields, "moderation", ("low", "auto"), model)
    choice(fields, "output_format", ("png", "jpeg", "webp"), model)
    int_range(fields, "output_compression", 0, 100, model)
    body.update({k: fields[k] for k in ("size", "quality", *_GPT_IMAGE_FIELDS) if fields.get(k) is not None})
    return (None if size == "auto" else size), (None if quality == "auto" else quality)


def _dall_e(model: str, fields: Mapping[str, Any], body: dict[str, Any], n: int) -> tuple[str | None, str | None]:
    three = model == "dall-e-3"
    sizes = ("1024x1024", "1792x1024", "1024x1792") if three else ("256x256", "512x512", "1024x1024")
    size = choice(fields, "size", sizes, model)
    quality = choice(fields, "quality", ("standard", "hd") if three else ("standard",), model)
    if three:
        choice(fields, "style", ("vivid", "natural"), model)
        if n != 1:
            raise invalid("n", "dall-e-3 generates one image per request: n must be 1")
    choice(fields, "response_format", ("url", "b64_json"), model)
    passed = ("size", "quality", "response_format", "user") + (("style",) if three else ())
    body.update({k: fields[k] for k in passed if fields.get(k) is not None})
    return size or "1024x1024", quality or "standard"  # the API's defaults


def _xai(model: str, fields: Mapping[str, Any], extra: dict[str, Any], body: dict[str, Any]) -> tuple:
    choice(fields, "response_format", ("url", "b64_json"), model)
    choice(fields, "aspect_ratio", XAI_ASPECT_RATIOS, model)
    quality = choice(fields, "quality", ("low", "medium", "high"), model)
    resolution = extra.get("resolution")
    if resolution is not None:
        if resolution not in ("1k", "2k"):
            raise invalid("additional_params", f"resolution {resolution!r} is not supported by {model}: use 1k or 2k")
    body.update({k: fields[k] for k in ("response_format", "aspect_ratio", "quality") if fields.get(k) is not None})
    return resolution, quality


def prepare_images(
    provider: str, model: str, prompt: str, n: int, fields: Mapping[str, Any], extra: dict[str, Any]
) -> ImageCall:
    """POST /images/generations for OpenAI's GPT Image and DALL-E models, and xAI's Grok Imagine models."""
    if not 1 <= n <= 10:
        raise invalid("n", f"n must be from 1 to 10 for {model}")
    body: dict[str, Any] = {"model": model, "prompt": prompt, "n": n}
    if provider == "xai":
        size, quality = _xai(model, fields, extra, body)
    elif model.startswith("dall-e-"):
        size, quality = _dall_e(model, fields, body, n)
    else:  # GPT Image models (gpt-image-*, chatgpt-image-*) and any newer model of that API
        size, quality = _gpt_image(model, fields, body)
    return ImageCall(model, merge_extra(body, extra, _RESERVED_IMAGE), n, size, quality)


def parse_images(data: Any, provider: str) -> list[GeneratedImage]:
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise UpstreamError(provider, 502, "the provider's image answer has no 'data' list")
    images = []
    size, quality = data.get("size"), data.get("quality")
    for item in items:
        if not isinstance(item, dict) or not (item.get("b64_json") or item.get("url")):
            continue
        mime = None
        if item.get("b64_json") and isinstance(data.get("output_format"), str):
            mime = f"image/{data['output_format']}"
        images.append(
            GeneratedImage(
                item.get("b64_json"),
                item.get("url"),
                item.get("revised_prompt"),
                mime,
                size if isinstance(size, str) else None,
                quality if isinstance(quality, str) else None,
            )
        )
    return images


async def generate_images(
    client: httpx.AsyncClient, cfg: ProviderConfig, call: ImageCall, api_key: str, *, byok: bool
) -> list[GeneratedImage]:
    data = await post_json(client, cfg.id, f"{cfg.base_url}/images/generations", headers(api_key), call.body, byok=byok)
    images = parse_images(data, cfg.id)
    if not images:
        raise UpstreamError(cfg.id, 502, "the provider returned no images")
    return images
