"""The process-wide state the servicers share, as named, typed fields (wired in `server.app`).

`Hub.create` builds what every use needs (settings, database engine, the ledger connection); the parts that
only serving needs (catalog, the upstream HTTP client, the stream registry, the video worker) are set by
`server.app.start_hub`, and unit tests set just the ones they exercise.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from server.config import Settings
from server.db.ledger import LedgerThread
from server.db.session import create_engine, session_factory
from server.domain import usage_index

if TYPE_CHECKING:
    from server.catalog.catalog import Catalog
    from server.domain.instances import Instances
    from server.domain.streams import ActiveStreams
    from server.domain.videos import VideoWorker
    from server.providers.http import UpstreamClient


@dataclass
class Hub:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    jwt_secret: str
    ledger: LedgerThread  # hot-path database access (auth, reserve, settle); see server.db.ledger
    catalog: Catalog = field(init=False)
    http: UpstreamClient = field(init=False)  # the one pooled upstream client (server.providers.http)
    streams: ActiveStreams = field(init=False)  # streams in flight, for stop-stream
    video_worker: VideoWorker | None = None
    # this process's id in `instances`: it owns the holds and streams it creates (server.domain.instances)
    instance_id: str | None = None
    instances: Instances | None = None
    # cleanup a cancelled request must still finish (e.g. settling an abandoned stream); close waits for them
    background: set[asyncio.Task] = field(default_factory=set)
    # BYOK keys of running video jobs, by job id: process memory only, never stored (server.domain.videos)
    video_byok_keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings) -> Hub:
        engine = create_engine(settings.database_url)
        return cls(
            settings,
            engine,
            session_factory(engine),
            settings.resolved_jwt_secret(),
            LedgerThread(
                settings.database_url,
                commit_delay=settings.ledger_commit_delay_ms / 1000,
                maintenance=(usage_index.catch_up,),  # the analytics tables, derived off the request path
                maintenance_seconds=usage_index.MAINTENANCE_SECONDS,
            ),
        )

    def in_background(self, coro) -> asyncio.Task:
        """Runs `coro` as a task the caller's cancellation cannot reach; `close` waits for it."""
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def close(self) -> None:
        """Stops whatever `start_hub` started, in reverse order, then the database."""
        if self.video_worker is not None:
            await self.video_worker.stop()
            self.video_worker = None
        if hasattr(self, "streams"):
            await self.streams.stop_listening()
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)
        if self.instances is not None:  # after the background settles: releases what is still held, if anything
            await self.instances.stop()
            self.instances = None
        if hasattr(self, "http"):
            await self.http.aclose()
        await self.ledger.stop()
        await self.engine.dispose()
