"""Who is calling and how they asked to be routed: the one bundle every inference and media call takes.

Chat, embeddings, images, speech, transcription and videos all need the same six things (the principal,
the requested provider / model / own key, the session and the address to record with the usage), so they
travel together instead of as a parameter list repeated in every domain function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.domain.auth import Principal


@dataclass(frozen=True)
class Caller:
    """Built once per request by server.services.caller; read-only from there on."""

    principal: Principal
    provider: str | None = None
    model: str | None = None
    byok_key: str | None = None  # the caller's own provider key (byok_api_key): charged nothing
    session_id: str | None = None
    client_ip: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False)  # additional_params, passed to the provider
