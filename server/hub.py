"""The process-wide state the servicers share: settings, database, signing secret, upstream client."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from server.config import Settings
from server.db.ledger import LedgerThread
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

    @property
    def ledger(self) -> LedgerThread:
        """Hot-path database access (auth, reserve, settle); see server.db.ledger."""
        return self.extras["ledger"]

    async def start(self) -> None:
        """Loads what serving needs: catalog, the one upstream HTTP client, the stream registry."""
        from server.catalog.catalog import load_catalog
        from server.domain.billing import release_stale_holds
        from server.domain.streams import ActiveStreams
        from server.providers.http import create_client

        self.extras["ledger"] = LedgerThread(self.settings.database_url)
        self.ledger.start()
        self.extras["catalog"] = load_catalog(self.settings.catalog_dir)
        self.extras["http"] = create_client(
            connect_timeout=self.settings.upstream_connect_timeout,
            read_timeout=self.settings.upstream_read_timeout,
            retries=self.settings.upstream_retries,
        )
        self.extras["streams"] = ActiveStreams(self)
        await self.extras["streams"].start()
        self.extras["background"] = set()
        await release_stale_holds(self)
        if self.settings.video_worker is not False:  # follows unfinished video jobs, also those from before a restart
            from server.domain.videos import VideoWorker

            elect = self.settings.video_worker is None  # one poller among the replicas unless forced on
            self.extras["video_worker"] = VideoWorker(self, self.settings.video_poll_seconds, elect=elect)
            self.extras["video_worker"].start()

    async def close(self) -> None:
        worker = self.extras.pop("video_worker", None)
        if worker is not None:
            await worker.stop()
        if "streams" in self.extras:
            await self.extras["streams"].stop_listening()
        background = self.extras.get("background")
        if background:
            await asyncio.gather(*background, return_exceptions=True)
        client = self.extras.get("http")
        if client is not None:
            await client.aclose()
        if "ledger" in self.extras:
            await self.ledger.stop()
        await self.engine.dispose()
