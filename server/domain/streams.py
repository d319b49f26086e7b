"""Streams in flight in this process, so their owner can stop them (stop-stream endpoints)."""

from __future__ import annotations

import asyncio


class ActiveStreams:
    def __init__(self) -> None:
        self._streams: dict[str, tuple[int, asyncio.Event]] = {}

    def open(self, stream_id: str, user_id: int) -> asyncio.Event:
        stop = asyncio.Event()
        self._streams[stream_id] = (user_id, stop)
        return stop

    def close(self, stream_id: str) -> None:
        self._streams.pop(stream_id, None)

    def stop(self, stream_id: str, user_id: int) -> bool:
        """True when the stream exists and belongs to user_id; another user's stream looks absent."""
        found = self._streams.get(stream_id)
        if found is None or found[0] != user_id:
            return False
        found[1].set()
        return True
