"""The stack's floor: the gateway's own Envoy config and grpc.aio server options, but a handler that only forwards.

    .venv/bin/python -m bench.floor        (HUB_HOST, HUB_HTTP_PORT, HUB_GRPC_PORT, HUB_DATA_DIR, OPENAI_BASE_URL)

`bench.peers --peers stack-floor,...` runs it through the peers harness like any gateway. It answers
`/api/v1/chat/completions` exactly as the gateway's route does (Envoy transcodes the typed ChatRequest into
ChatService/CreateChatCompletion, a server-streaming RPC of HttpBody), but the handler makes one upstream call
with the gateway's own client (server.providers.http's pyreqwest client, for a JSON answer and a stream alike)
and relays the answer: no auth, reservation, settlement, records or validation. What this costs is what any
gateway built on Envoy transcoding + grpc.aio + these clients pays before it meters anything, so a target
below it cannot be met with this stack; the gateway's own figures minus these are what metering costs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from typing import Any

import grpc
import orjson
import uvloop
from google.api import httpbody_pb2
from indoxhub.v1 import chat_pb2

from server.app import server_options
from server.config import Settings
from server.envoy_config import envoy_command, render
from server.providers.http import create_client

DEFAULT_UPSTREAM = "http://127.0.0.1:18000/v1"  # the peers harness's fake upstream


def upstream_body(request: chat_pb2.ChatRequest) -> dict[str, Any]:
    """The least an OpenAI upstream needs: model (provider prefix dropped), string messages, stream flag."""
    body: dict[str, Any] = {
        "model": request.model.split("/", 1)[-1],
        "messages": [{"role": m.role, "content": m.content.string_value} for m in request.messages],
    }
    if request.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


class Forwarder:
    """CreateChatCompletion as one upstream call; the answer's bytes go back unchanged."""

    def __init__(self, base_url: str, api_key: str):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.headers = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}
        self.client = create_client(max_connections=1000)

    async def forward(self, request: chat_pb2.ChatRequest, context):
        body = orjson.dumps(upstream_body(request))
        call = self.client.reqwest_client().post(self.url).headers(self.headers).body_bytes(body)
        if not request.stream:
            response = await call.build().send()
            yield httpbody_pb2.HttpBody(content_type="application/json", data=bytes(await response.bytes()))
            return
        async with call.streamed_read_buffer_limit(0).build_streamed() as response:  # as open_sse reads a stream
            reader = response.body_reader
            while (chunk := await reader.read_chunk()) is not None:
                yield httpbody_pb2.HttpBody(content_type="text/event-stream", data=bytes(chunk))


async def serve(settings: Settings) -> None:
    server = grpc.aio.server(options=server_options(settings))
    forwarder = Forwarder(os.environ.get("OPENAI_BASE_URL", DEFAULT_UPSTREAM), os.environ.get("OPENAI_API_KEY", "x"))
    handler = grpc.unary_stream_rpc_method_handler(
        forwarder.forward,
        request_deserializer=chat_pb2.ChatRequest.FromString,
        response_serializer=httpbody_pb2.HttpBody.SerializeToString,
    )
    service = chat_pb2.DESCRIPTOR.services_by_name["ChatService"].full_name
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {"CreateChatCompletion": handler}),))
    server.add_insecure_port(f"{settings.host}:{settings.grpc_port}")
    await server.start()
    config = render(settings, settings.data_dir / "envoy")
    envoy = subprocess.Popen(envoy_command(settings, config))  # noqa: ASYNC220 - started once, before serving
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"floor: REST http://{settings.host}:{settings.http_port} -> gRPC {settings.grpc_port}", flush=True)
    await stop.wait()
    envoy.terminate()
    await server.stop(1)
    await forwarder.client.aclose()
    envoy.wait(10)


if __name__ == "__main__":
    uvloop.run(serve(Settings()))
