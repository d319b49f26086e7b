"""A deliberately minimal OpenAI-format upstream for benchmarks: canned answers over keep-alive HTTP/1.1,
so that what is measured is the gateway, not the fake. (Tests use tests/fakes/providers.py instead.)"""

from __future__ import annotations

import argparse
import asyncio

import orjson

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

CHAT = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hello from the bench."}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15},
    }
)
_CHUNK = {"id": "c", "object": "chat.completion.chunk"}
CHUNKS = [
    b"data: " + orjson.dumps({**_CHUNK, "choices": [{"index": 0, "delta": {"content": "Hello"}}]}) + b"\n\n",
    b"data: "
    + orjson.dumps({**_CHUNK, "choices": [{"index": 0, "delta": {"content": " world"}, "finish_reason": "stop"}]})
    + b"\n\n",
    b"data: "
    + orjson.dumps({**_CHUNK, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}})
    + b"\n\n",
    b"data: [DONE]\n\n",
]


def _response(body: bytes, content_type: bytes = b"application/json") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: "
        + content_type
        + b"\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            if b'"stream":true' in body.replace(b" ", b""):
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                )
                for piece in CHUNKS:
                    writer.write(_chunk(piece))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            else:
                writer.write(_response(CHAT))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    print(f"bench upstream on {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if uvloop:
        uvloop.install()
    asyncio.run(main(args.port))
