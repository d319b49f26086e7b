"""Sora video jobs in the OpenAI wire format (`POST /videos`, `GET /videos/{id}`, `GET /videos/{id}/content`,
`DELETE /videos/{id}`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from server.errors import UpstreamError
from server.providers.base import (
    ProviderConfig,
    VideoAsset,
    VideoCall,
    VideoPoll,
)
from server.providers.http import get_json, post_json
from server.providers.media_fields import choice, content_info, data_url, invalid, is_url
from server.providers.openai_format import headers, merge_extra

SORA_SECONDS = (4, 8, 12)
SORA_SIZES = {"sora-2": ("720x1280", "1280x720"), "sora-2-pro": ("720x1280", "1280x720", "1024x1792", "1792x1024")}
_SORA_BY_SHAPE = {
    ("16:9", "720p"): "1280x720",
    ("9:16", "720p"): "720x1280",
    ("16:9", "1080p"): "1792x1024",
    ("9:16", "1080p"): "1024x1792",
}
_SORA_STATUS = {"queued": "queued", "in_progress": "processing", "completed": "completed", "failed": "failed"}


def _sora_size(model: str, fields: Mapping[str, Any]) -> str:
    sizes = SORA_SIZES.get(model, SORA_SIZES["sora-2-pro"])
    if fields.get("size") is not None:
        return choice(fields, "size", sizes, model)
    aspect = choice(fields, "aspect_ratio", ("16:9", "9:16"), model) or "9:16"
    resolution = choice(fields, "resolution", ("720p", "1080p"), model) or "720p"
    size = _SORA_BY_SHAPE[(aspect, resolution)]
    if size not in sizes:
        raise invalid("resolution", f"{resolution} is not available with {model}")
    return size


def prepare_video(provider: str, model: str, prompt: str, fields: Mapping[str, Any], extra: dict) -> VideoCall:
    """POST /videos (JSON): seconds 4/8/12 (default 4), one video per job, size from size or aspect_ratio and
    resolution; an input image becomes `input_reference.image_url` (URL or data URL)."""
    seconds = fields.get("duration") or 4
    if seconds not in SORA_SECONDS:
        raise invalid("duration", f"{model} makes videos of {', '.join(map(str, SORA_SECONDS))} seconds")
    if (fields.get("n") or 1) != 1:
        raise invalid("n", f"{model} makes one video per job: n must be 1")
    size = _sora_size(model, fields)
    body: dict[str, Any] = {"model": model, "prompt": prompt, "seconds": str(seconds), "size": size}
    image = fields.get("input_image")
    if image:
        if not is_url(image):
            try:
                mime, payload = data_url(image)
            except ValueError as exc:
                raise invalid("input_image", str(exc)) from None
            image = f"data:{mime};base64,{payload}"
        body["input_reference"] = {"image_url": image}
    summary = {"seconds": seconds, "size": size, "n": 1}
    return VideoCall(model, merge_extra(body, extra, frozenset({"model", "prompt"})), seconds, 1, size, summary)


def _sora_error(video: dict[str, Any]) -> str:
    error = video.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "the provider reported a failure")
    return str(error or "the provider reported a failure")


async def submit_video(
    client: httpx.AsyncClient, cfg: ProviderConfig, call: VideoCall, api_key: str, *, byok: bool
) -> tuple[str, VideoPoll]:
    """Starts the job: (the provider's job id, its first state)."""
    data = await post_json(client, cfg.id, f"{cfg.base_url}/videos", headers(api_key), call.body, byok=byok)
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise UpstreamError(cfg.id, 502, "the provider did not return a video job id")
    return data["id"], _sora_state(data)


def _sora_state(video: dict[str, Any]) -> VideoPoll:
    status = _SORA_STATUS.get(str(video.get("status")), "processing")
    progress = video.get("progress") if isinstance(video.get("progress"), int) else None
    seconds = video.get("seconds")
    try:
        per_video = float(seconds) if seconds is not None else None
    except (TypeError, ValueError):
        per_video = None
    return VideoPoll(status, progress, _sora_error(video) if status == "failed" else None, seconds=per_video)


async def poll_video(
    client: httpx.AsyncClient, cfg: ProviderConfig, job_id: str, api_key: str, *, byok: bool
) -> VideoPoll:
    data = await get_json(client, cfg.id, f"{cfg.base_url}/videos/{job_id}", headers(api_key), byok=byok)
    if not isinstance(data, dict):
        raise UpstreamError(cfg.id, 502, "the provider's video job is not an object")
    state = _sora_state(data)
    if state.status == "completed":
        url = f"{cfg.base_url}/videos/{job_id}/content"
        content_type, size = await content_info(client, cfg.id, url, headers(api_key), byok=byok)
        state.assets = [VideoAsset(url, content_type, size)]
        state.progress = 100
    return state


async def cancel_video(
    client: httpx.AsyncClient, cfg: ProviderConfig, job_id: str, api_key: str, *, byok: bool
) -> bool:
    """Sora has no cancel call: deleting the job is the closest (best effort; False when it failed)."""
    try:
        response = await client.delete(f"{cfg.base_url}/videos/{job_id}", headers=headers(api_key))
    except httpx.HTTPError:
        return False
    return response.status_code < 400
