"""Upstream answers validated by shape with pydantic: one model set per wire format lives in its adapter,
and this is the one function that applies them, so a malformed answer is always a 502 naming the provider
(and, raised before any usage is read, costs nothing)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from server.errors import UpstreamError

M = TypeVar("M", bound=BaseModel)


class Shape(BaseModel):
    """Base of every upstream shape: unknown fields are kept (providers add fields all the time)."""

    model_config = ConfigDict(extra="allow", frozen=False)


def validated(model: type[M], data: Any, provider: str) -> M:
    """`data` as `model`, or an UpstreamError(502) saying where the answer had the wrong shape."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise UpstreamError(provider, 502, f"malformed answer at '{where}': {first.get('msg', 'invalid')}") from None
