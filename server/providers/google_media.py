"""Media on the Gemini API (generativelanguage.googleapis.com, v1beta, key in `x-goog-api-key`):

- Gemini image models (`gemini-*-image*`): `:generateContent` with `responseModalities: ["IMAGE"]` and an
  `imageConfig` (aspectRatio, imageSize 1K/2K/4K); one image per request, so `n` images are `n` requests;
- Imagen (`imagen-*`): `:predict` with `instances[{prompt}]` and camelCase `parameters`;
- Veo (`veo-*`): `:predictLongRunning` returns an operation `name`; `GET /v1beta/{name}` until `done`, then
  `response.generateVideoResponse.generatedSamples[].video.uri`; `POST /v1beta/{name}:cancel` (best effort).

Google takes `aspect_ratio`, not `size`; images come back as base64 only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from server.errors import BadRequest, UpstreamError
from server.providers.base import GeneratedImage, ImageCall, ProviderConfig, VideoAsset, VideoCall, VideoPoll
from server.providers.google import headers, model_url
from server.providers.http import get_json, post_json
from server.providers.media_fields import choice, content_info, data_url, int_range, invalid, is_url

GEMINI_ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9", "1:4", "4:1")
GEMINI_IMAGE_SIZES = ("512", "1K", "2K", "4K")
IMAGEN_ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
PERSON_GENERATION = ("dont_allow", "allow_adult", "allow_all")
SAFETY_LEVELS = ("block_low_and_above", "block_medium_and_above", "block_only_high", "block_none")
MAX_GEMINI_IMAGES = 4


def _b64_only(fields: Mapping[str, Any], model: str) -> None:
    if fields.get("response_format") not in (None, "b64_json"):
        raise invalid("response_format", f"{model} returns images as base64 only: use 'b64_json' or leave it unset")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


# ---------------------------------------------------------------------------------------------- images


def _gemini_image(model: str, prompt: str, n: int, fields: Mapping[str, Any], extra: dict) -> ImageCall:
    if not 1 <= n <= MAX_GEMINI_IMAGES:
        raise invalid("n", f"n must be from 1 to {MAX_GEMINI_IMAGES} for {model}")
    _b64_only(fields, model)
    aspect = choice(fields, "aspect_ratio", GEMINI_ASPECT_RATIOS, model)
    size = fields.get("size")
    if size is not None and size not in GEMINI_IMAGE_SIZES:
        raise invalid(
            "size",
            f"{model} takes the image shape as aspect_ratio and the resolution as size "
            f"{', '.join(GEMINI_IMAGE_SIZES)}; {size!r} is neither",
        )
    image_config = {k: v for k, v in (("aspectRatio", aspect), ("imageSize", size)) if v}
    config: dict[str, Any] = {"responseModalities": ["IMAGE"]}
    if image_config:
        config["imageConfig"] = image_config
    if fields.get("seed") is not None:
        config["seed"] = fields["seed"]
    extra_config = extra.get("generationConfig")
    if isinstance(extra_config, dict):
        config = {**extra_config, **config}
    body = {k: v for k, v in extra.items() if k not in ("contents", "generationConfig")}
    body.update({"contents": [{"role": "user", "parts": [{"text": prompt}]}], "generationConfig": config})
    return ImageCall(model, body, n, size or "1K", None, calls=n)


def _imagen(model: str, prompt: str, n: int, fields: Mapping[str, Any], extra: dict) -> ImageCall:
    if not 1 <= n <= 4:
        raise invalid("n", f"n must be from 1 to 4 for {model}")
    _b64_only(fields, model)
    params: dict[str, Any] = {"sampleCount": n}
    if (aspect := choice(fields, "aspect_ratio", IMAGEN_ASPECT_RATIOS, model)) is not None:
        params["aspectRatio"] = aspect
    if (size := choice(fields, "size", ("1K", "2K"), model)) is not None:
        params["sampleImageSize"] = size
    choice(fields, "person_generation", PERSON_GENERATION, model)
    if (level := choice(fields, "safety_filter_level", SAFETY_LEVELS, model)) is not None:
        params["safetySetting"] = level
    for name in (
        "negative_prompt",
        "seed",
        "guidance_scale",
        "person_generation",
        "include_safety_attributes",
        "include_rai_reason",
        "language",
        "add_watermark",
        "enhance_prompt",
    ):
        if fields.get(name) is not None:
            params[_camel(name)] = fields[name]
    output = {}
    if fields.get("output_mime_type") is not None:
        output["mimeType"] = choice(fields, "output_mime_type", ("image/png", "image/jpeg"), model)
    if (quality := int_range(fields, "output_compression", 0, 100, model)) is not None:
        output["compressionQuality"] = quality
    if output:
        params["outputOptions"] = output
    extra_params = extra.get("parameters")
    if isinstance(extra_params, dict):
        params = {**extra_params, **params}
    return ImageCall(model, {"instances": [{"prompt": prompt}], "parameters": params}, n, size, None)


def prepare_images(
    provider: str, model: str, prompt: str, n: int, fields: Mapping[str, Any], extra: dict[str, Any]
) -> ImageCall:
    if model.startswith("imagen"):
        return _imagen(model, prompt, n, fields, extra)
    return _gemini_image(model, prompt, n, fields, extra)


def parse_gemini_images(data: Any) -> tuple[list[GeneratedImage], str | None]:
    """Images (inlineData parts) of a generateContent answer, and why there are none when blocked."""
    images: list[GeneratedImage] = []
    reason = None
    candidates = data.get("candidates") if isinstance(data, dict) else None
    for candidate in candidates or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            inline = part.get("inlineData") or part.get("inline_data")
            if isinstance(inline, dict) and inline.get("data"):
                images.append(GeneratedImage(b64_json=inline["data"], mime_type=inline.get("mimeType") or "image/png"))
        if candidate.get("finishReason") not in (None, "STOP"):
            reason = candidate["finishReason"]
    if isinstance(data, dict) and (data.get("promptFeedback") or {}).get("blockReason"):
        reason = data["promptFeedback"]["blockReason"]
    return images, reason


def parse_imagen(data: Any) -> tuple[list[GeneratedImage], str | None]:
    images, reasons = [], []
    for item in (data.get("predictions") if isinstance(data, dict) else None) or []:
        if item.get("bytesBase64Encoded"):
            images.append(GeneratedImage(b64_json=item["bytesBase64Encoded"], mime_type=item.get("mimeType")))
        elif item.get("raiFilteredReason"):
            reasons.append(str(item["raiFilteredReason"]))
    return images, "; ".join(reasons) or None


async def generate_images(
    client: httpx.AsyncClient, cfg: ProviderConfig, call: ImageCall, api_key: str, *, byok: bool
) -> list[GeneratedImage]:
    if "instances" in call.body:  # Imagen
        url = model_url(cfg.base_url, call.model, "predict")
        images, reason = parse_imagen(await post_json(client, cfg.id, url, headers(api_key), call.body, byok=byok))
    else:
        url = model_url(cfg.base_url, call.model, "generateContent")
        answers = await asyncio.gather(
            *(post_json(client, cfg.id, url, headers(api_key), call.body, byok=byok) for _ in range(call.calls))
        )
        images, reason = [], None
        for answer in answers:
            got, why = parse_gemini_images(answer)
            images += got
            reason = reason or why
    if not images:
        if reason:
            raise BadRequest(f"Provider '{cfg.id}' generated no image: {reason}")
        raise UpstreamError(cfg.id, 502, "the provider returned no images")
    return images


# ---------------------------------------------------------------------------------------------- video (Veo)


def _veo_family(model: str) -> str:
    if model.startswith("veo-2"):
        return "2"
    if model.startswith("veo-3.0"):
        return "3.0"
    return "3.1"


_VEO_SECONDS = {"2": (5, 6, 7, 8), "3.0": (4, 6, 8), "3.1": (4, 6, 8)}
_VEO_RESOLUTIONS = {"2": (), "3.0": ("720p", "1080p"), "3.1": ("720p", "1080p", "4k")}


def _inline(name: str, value: str, default_mime: str) -> dict[str, str]:
    if is_url(value):
        raise invalid(name, f"{name} must be base64 data or a data URL for Google (the Gemini API takes media inline)")
    try:
        mime, payload = data_url(value, default_mime)
    except ValueError as exc:
        raise invalid(name, str(exc)) from None
    return {"bytesBase64Encoded": payload, "mimeType": mime}


def prepare_video(provider: str, model: str, prompt: str, fields: Mapping[str, Any], extra: dict) -> VideoCall:
    """:predictLongRunning: one instance (prompt and media) plus camelCase parameters."""
    family = _veo_family(model)
    seconds = fields.get("duration") or 8
    if seconds not in _VEO_SECONDS[family]:
        raise invalid("duration", f"{model} makes videos of {', '.join(map(str, _VEO_SECONDS[family]))} seconds")
    n = fields.get("n") or 1
    max_n = 2 if family == "2" else 1
    if not 1 <= n <= max_n:
        raise invalid("n", f"{model} makes at most {max_n} video(s) per job")
    params: dict[str, Any] = {"durationSeconds": seconds}
    if n > 1:
        params["sampleCount"] = n
    if (aspect := choice(fields, "aspect_ratio", ("16:9", "9:16"), model)) is not None:
        params["aspectRatio"] = aspect
    resolution = fields.get("resolution")
    if resolution is not None:
        if not _VEO_RESOLUTIONS[family]:
            raise invalid("resolution", f"{model} does not take a resolution")
        params["resolution"] = choice(fields, "resolution", _VEO_RESOLUTIONS[family], model)
    if (person := choice(fields, "person_generation", PERSON_GENERATION, model)) is not None:
        params["personGeneration"] = person
    if fields.get("negative_prompt"):
        params["negativePrompt"] = fields["negative_prompt"]
    instance: dict[str, Any] = {"prompt": prompt}
    if fields.get("input_image"):
        instance["image"] = _inline("input_image", fields["input_image"], "image/png")
    if fields.get("last_frame"):
        instance["lastFrame"] = _inline("last_frame", fields["last_frame"], "image/png")
    references = list(fields.get("reference_images") or [])
    if fields.get("reference_image"):
        references.insert(0, fields["reference_image"])
    if references:
        if len(references) > 3:
            raise invalid("reference_images", "at most 3 reference images")
        instance["referenceImages"] = [
            {"image": _inline("reference_images", r, "image/png"), "referenceType": "asset"} for r in references
        ]
    if fields.get("video"):
        video = fields["video"]
        instance["video"] = {"uri": video} if is_url(video) else _inline("video", video, "video/mp4")
    extra_params = extra.get("parameters")
    if isinstance(extra_params, dict):
        params = {**extra_params, **params}
    body = {"instances": [instance], "parameters": params}
    summary = {"seconds": seconds, "n": n, **{k: params[k] for k in ("aspectRatio", "resolution") if k in params}}
    return VideoCall(model, body, seconds, n, params.get("resolution"), summary)


async def submit_video(
    client: httpx.AsyncClient, cfg: ProviderConfig, call: VideoCall, api_key: str, *, byok: bool
) -> tuple[str, VideoPoll]:
    url = model_url(cfg.base_url, call.model, "predictLongRunning")
    data = await post_json(client, cfg.id, url, headers(api_key), call.body, byok=byok)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        raise UpstreamError(cfg.id, 502, "the provider did not return an operation name")
    return data["name"], VideoPoll("processing" if not data.get("done") else "queued", 0)


def _operation_url(base_url: str, name: str) -> str:
    return f"{base_url}/v1beta/{quote(name, safe='/-._~')}"


def parse_operation(data: dict[str, Any]) -> VideoPoll:
    """An operation in our words (without the downloads' sizes, which need more requests)."""
    if not data.get("done"):
        progress = (data.get("metadata") or {}).get("progressPercent")
        return VideoPoll("processing", int(progress) if isinstance(progress, int | float) else None)
    error = data.get("error")
    if isinstance(error, dict):
        status = "cancelled" if error.get("code") == 1 else "failed"
        return VideoPoll(status, error=str(error.get("message") or "the provider reported a failure"))
    response = data.get("response") or {}
    result = response.get("generateVideoResponse") or response
    samples = result.get("generatedSamples") or result.get("generatedVideos") or []
    assets = []
    for sample in samples:
        video = sample.get("video") or {}
        if isinstance(video.get("uri"), str) and video["uri"]:
            assets.append(VideoAsset(video["uri"], video.get("mimeType") or "video/mp4"))
    if not assets:
        reasons = result.get("raiMediaFilteredReasons") or []
        why = "; ".join(map(str, reasons)) or "the provider returned no video"
        return VideoPoll("failed", error=why)
    return VideoPoll("completed", 100, assets=assets)


async def poll_video(
    client: httpx.AsyncClient, cfg: ProviderConfig, job_id: str, api_key: str, *, byok: bool
) -> VideoPoll:
    data = await get_json(client, cfg.id, _operation_url(cfg.base_url, job_id), headers(api_key), byok=byok)
    if not isinstance(data, dict):
        raise UpstreamError(cfg.id, 502, "the provider's operation is not an object")
    state = parse_operation(data)
    for asset in state.assets:
        asset.content_type, asset.file_size = await content_info(client, cfg.id, asset.url, headers(api_key), byok=byok)
    return state


async def cancel_video(
    client: httpx.AsyncClient, cfg: ProviderConfig, job_id: str, api_key: str, *, byok: bool
) -> bool:
    """google.longrunning cancel (best effort: a provider that cannot cancel answers an error, ignored)."""
    try:
        response = await client.post(f"{_operation_url(cfg.base_url, job_id)}:cancel", headers=headers(api_key))
    except httpx.HTTPError:
        return False
    return response.status_code < 400
