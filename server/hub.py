"""The process-wide state the servicers share: settings, database, signing secret, upstream client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from server.config import Settings
from server.db.session import create_engine, session_factory


@dataclass
class Hub:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    jwt_secret: str
    extras: dict[str, Any] = field(default_factory=dict)  # filled by later capabilities (catalog, http client)

    @classmethod
    def create(cls, settings: Settings) -> Hub:
        engine = create_engine(settings.database_url)
        return cls(settings, engine, session_factory(engine), settings.resolved_jwt_secret())

    async def close(self) -> None:
        await self.engine.dispose()
