"""A small closed-loop HTTP/1.1 load generator on raw asyncio streams (keep-alive, pre-encoded requests):
cheap enough per request that it does not hide the gateway's own cost."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_byte_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0


def request_bytes(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"host: {host}:{port}", f"content-length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader, marker: bytes | None = None) -> tuple[int, float]:
    """Reads one response (content-length or chunked); returns (status, time the first body chunk holding
    `marker` arrived, or of the first body byte without a marker)."""
    head = await reader.readuntil(b"\r\n\r\n")
    first = time.perf_counter()
    status = int(head[9:12])
    length, chunked = None, False
    for line in head.split(b"\r\n")[1:]:
        lower = line.lower()
        if lower.startswith(b"content-length:"):
            length = int(line[15:])
        elif lower.startswith(b"transfer-encoding:") and b"chunked" in lower:
            chunked = True
    if chunked:
        found = False
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            data = await reader.readexactly(size + 2)
            if not found and (marker is None or marker in data):
                first, found = time.perf_counter(), True
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, first


async def run(
    host: str, port: int, payload: bytes, *, concurrency: int, total: int, marker: bytes | None = None
) -> Result:
    result = Result()
    remaining = [total]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while remaining[0] > 0:
                remaining[0] -= 1
                start = time.perf_counter()
                writer.write(payload)
                status, first = await _read_response(reader, marker)
                end = time.perf_counter()
                if status != 200:
                    result.errors += 1
                result.latencies_ms.append((end - start) * 1000)
                result.first_byte_ms.append((first - start) * 1000)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed_s = time.perf_counter() - started
    return result
