"""POST /v1/embeddings: `input` (string or list of strings), `dimensions`, `encoding_format` float or base64
(little-endian float32, which the OpenAI SDKs request by default and decode themselves)."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from typing import Any

from server.domain.embeddings import MAX_INPUTS
from server.domain.openai_surface import common
from server.domain.openai_surface.fields import Body


@dataclass
class EmbeddingRequest:
    model: str
    texts: list[str]
    extra: dict[str, Any]  # provider parameters (dimensions)
    base64: bool
    byok_key: str | None
    session_id: str | None


def parse(data: dict[str, Any]) -> EmbeddingRequest:
    body = Body(data, common.IGNORED)
    model = body.string("model", required=True)
    raw = body.required("input")
    texts = [raw] if isinstance(raw, str) else raw
    if raw is not None and not (
        isinstance(texts, list) and 0 < len(texts) <= MAX_INPUTS and all(isinstance(t, str) and t for t in texts)
    ):
        body.fail(
            "input",
            f"input must be a non-empty string or a list of 1 to {MAX_INPUTS} non-empty strings (token arrays are "
            "not supported)",
            "invalid_type",
        )
    dimensions = body.integer("dimensions", 1, 65536)
    encoding = body.string("encoding_format", choices=("float", "base64"))
    byok, session_id, _ = common.extensions(body)
    body.done()
    extra = {"dimensions": dimensions} if dimensions else {}
    return EmbeddingRequest(model or "", list(texts or []), extra, encoding == "base64", byok, session_id)


def _encode(vector: list[float], as_base64: bool) -> list[float] | str:
    if not as_base64:
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def response(
    provider: str, model: str, vectors: list[list[float]], input_tokens: int, as_base64: bool
) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": _encode(v, as_base64)} for i, v in enumerate(vectors)
        ],
        "model": f"{provider}/{model}",
        "usage": {"prompt_tokens": input_tokens, "total_tokens": input_tokens},
    }
