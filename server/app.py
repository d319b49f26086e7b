"""Builds and runs the grpc.aio server: every service, health, reflection, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from indoxhub.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    analytics_pb2,
    analytics_pb2_grpc,
    audio_pb2,
    audio_pb2_grpc,
    auth_pb2,
    auth_pb2_grpc,
    chat_pb2,
    chat_pb2_grpc,
    completions_pb2,
    completions_pb2_grpc,
    embeddings_pb2,
    embeddings_pb2_grpc,
    images_pb2,
    images_pb2_grpc,
    models_pb2,
    models_pb2_grpc,
    openai_pb2,
    openai_pb2_grpc,
    user_pb2,
    user_pb2_grpc,
    videos_pb2,
    videos_pb2_grpc,
)

from server.config import Settings
from server.hub import Hub
from server.services.admin import AdminServicer
from server.services.analytics import AnalyticsServicer
from server.services.audio import AudioServicer
from server.services.auth import AuthServicer
from server.services.embeddings import EmbeddingsServicer
from server.services.generation import ChatServicer, CompletionsServicer
from server.services.images import ImagesServicer
from server.services.models import ModelsServicer
from server.services.openai_compat import OpenAIServicer
from server.services.unimplemented import fill_unimplemented
from server.services.user import UserServicer
from server.services.videos import VideosServicer

log = logging.getLogger("hub")

FRAMING_ALLOWANCE = 1024 * 1024  # multipart boundaries and form fields around a 25 MB file


def _services() -> list[tuple[object, str, type | None]]:
    """(grpc module, service name, our servicer or None while not implemented)."""
    return [
        (user_pb2_grpc, "UserService", UserServicer),
        (auth_pb2_grpc, "AuthService", AuthServicer),
        (admin_pb2_grpc, "AdminService", AdminServicer),
        (analytics_pb2_grpc, "AnalyticsService", AnalyticsServicer),
        (audio_pb2_grpc, "AudioService", AudioServicer),
        (chat_pb2_grpc, "ChatService", ChatServicer),
        (completions_pb2_grpc, "CompletionsService", CompletionsServicer),
        (embeddings_pb2_grpc, "EmbeddingsService", EmbeddingsServicer),
        (images_pb2_grpc, "ImagesService", ImagesServicer),
        (models_pb2_grpc, "ModelsService", ModelsServicer),
        (videos_pb2_grpc, "VideosService", VideosServicer),
        (openai_pb2_grpc, "OpenAIService", OpenAIServicer),
    ]


_DESCRIPTORS = {
    "UserService": user_pb2,
    "AuthService": auth_pb2,
    "AdminService": admin_pb2,
    "AnalyticsService": analytics_pb2,
    "AudioService": audio_pb2,
    "ChatService": chat_pb2,
    "CompletionsService": completions_pb2,
    "EmbeddingsService": embeddings_pb2,
    "ImagesService": images_pb2,
    "ModelsService": models_pb2,
    "VideosService": videos_pb2,
    "OpenAIService": openai_pb2,
}


def settings_reuseport() -> bool:
    """Several server processes (HUB_WORKERS > 1) share the port through SO_REUSEPORT."""
    import os

    return int(os.environ.get("HUB_WORKERS", "1")) > 1


def build_server(hub: Hub) -> tuple[grpc.aio.Server, health.HealthServicer]:
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", hub.settings.max_body_bytes + FRAMING_ALLOWANCE),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ("grpc.max_concurrent_streams", 1024),
            ("grpc.so_reuseport", 1 if settings_reuseport() else 0),
        ]
    )
    names = []
    for module, name, servicer in _services():
        base = getattr(module, f"{name}Servicer")
        descriptor = _DESCRIPTORS[name].DESCRIPTOR.services_by_name[name]
        cls = fill_unimplemented(servicer or base, base, descriptor)
        instance = cls(hub) if servicer else cls()
        instance.hub = hub
        getattr(module, f"add_{name}Servicer_to_server")(instance, server)
        names.append(descriptor.full_name)
    health_servicer = health.aio.HealthServicer() if hasattr(health, "aio") else health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names += [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
    reflection.enable_server_reflection(names, server)
    return server, health_servicer


async def serve(settings: Settings) -> None:
    hub = Hub.create(settings)
    await hub.start()
    server, health_servicer = build_server(hub)
    address = f"{settings.host}:{settings.grpc_port}"
    server.add_insecure_port(address)
    await server.start()
    if settings.metrics_port:
        from server import metrics

        metrics.serve(settings.metrics_port, settings.host)
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.SERVING)
    log.info("gRPC server listening on %s", address)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: draining in-flight calls")
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.stop(grace=10)
    await hub.close()


async def _set_health(servicer, status) -> None:
    result = servicer.set("", status)
    if asyncio.iscoroutine(result):
        await result
