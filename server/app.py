"""Builds and runs the grpc.aio server: every service, health, reflection, graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import signal
from dataclasses import dataclass
from types import ModuleType

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from indoxhub.v1 import (
    admin_pb2,
    analytics_pb2,
    audio_pb2,
    auth_pb2,
    chat_pb2,
    completions_pb2,
    embeddings_pb2,
    images_pb2,
    models_pb2,
    openai_pb2,
    user_pb2,
    videos_pb2,
)

from server import metrics
from server.catalog.catalog import load_catalog
from server.config import Settings
from server.domain.billing import release_stale_holds
from server.domain.instances import Instances
from server.domain.streams import ActiveStreams
from server.domain.videos import VideoWorker
from server.hub import Hub
from server.providers.http import create_client
from server.rpc import safe_deserializer
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
# The gRPC server accepts more than Envoy lets through, so that Envoy's own 413/431 always answer first and
# the server's limits are never reached by a REST request (they only guard direct gRPC callers).
MESSAGE_HEADROOM = 4 * 1024 * 1024
MAX_METADATA_BYTES = 256 * 1024  # Envoy refuses request headers above max_request_headers_kb (16 KB)


@dataclass(frozen=True)
class Service:
    """One gRPC service: its proto module, its name, our servicer, and whether Envoy transcodes it to REST."""

    proto: ModuleType
    name: str
    servicer: type
    rest: bool = True

    @property
    def descriptor(self) -> ServiceDescriptor:
        return self.proto.DESCRIPTOR.services_by_name[self.name]


# THE list of services: gRPC registration, the reflection list and Envoy's transcoder `services:` come from it.
SERVICES: tuple[Service, ...] = (
    Service(user_pb2, "UserService", UserServicer),
    Service(auth_pb2, "AuthService", AuthServicer),
    Service(admin_pb2, "AdminService", AdminServicer, rest=False),  # operators only, never routed by Envoy
    Service(analytics_pb2, "AnalyticsService", AnalyticsServicer),
    Service(audio_pb2, "AudioService", AudioServicer),
    Service(chat_pb2, "ChatService", ChatServicer),
    Service(completions_pb2, "CompletionsService", CompletionsServicer),
    Service(embeddings_pb2, "EmbeddingsService", EmbeddingsServicer),
    Service(images_pb2, "ImagesService", ImagesServicer),
    Service(models_pb2, "ModelsService", ModelsServicer),
    Service(videos_pb2, "VideosService", VideosServicer),
    Service(openai_pb2, "OpenAIService", OpenAIServicer),  # the OpenAI-compatible surface at /v1
)


def rest_services() -> list[str]:
    """Full names of the services Envoy transcodes (rendered into envoy.yaml by server.envoy_config)."""
    return [s.descriptor.full_name for s in SERVICES if s.rest]


def _generated_base(service: Service) -> type:
    return getattr(importlib.import_module(service.proto.__name__ + "_grpc"), f"{service.name}Servicer")


def _register(server: grpc.aio.Server, service: Service, hub: Hub) -> str:
    """Adds the service with handlers built from its descriptor: the same as the generated
    add_*Servicer_to_server, except that requests are decoded by rpc.safe_deserializer."""
    descriptor = service.descriptor
    instance = fill_unimplemented(service.servicer, _generated_base(service), descriptor)(hub)
    handlers = {}
    for method in descriptor.methods:
        make = grpc.unary_stream_rpc_method_handler if method.server_streaming else grpc.unary_unary_rpc_method_handler
        handlers[method.name] = make(
            getattr(instance, method.name),
            request_deserializer=safe_deserializer(message_factory.GetMessageClass(method.input_type)),
            response_serializer=message_factory.GetMessageClass(method.output_type).SerializeToString,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(descriptor.full_name, handlers),))
    return descriptor.full_name


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """The grpc.aio server's channel options (also used by bench.floor, so the floor runs the same server)."""
    return [
        ("grpc.max_receive_message_length", settings.max_body_bytes + FRAMING_ALLOWANCE + MESSAGE_HEADROOM),
        ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ("grpc.max_concurrent_streams", 1024),
        ("grpc.max_metadata_size", MAX_METADATA_BYTES),
        ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
        # Each process owns its port (HUB_WORKERS: port + i); gRPC would otherwise let a second process
        # bind the same port silently and steal part of the traffic.
        ("grpc.so_reuseport", 0),
    ]


def build_server(hub: Hub) -> tuple[grpc.aio.Server, health.HealthServicer]:
    server = grpc.aio.server(options=server_options(hub.settings))
    names = [_register(server, service, hub) for service in SERVICES]
    health_servicer = health.aio.HealthServicer() if hasattr(health, "aio") else health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names += [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
    reflection.enable_server_reflection(names, server)
    return server, health_servicer


async def start_hub(settings: Settings) -> Hub:
    """The wiring: a Hub with everything serving needs (catalog, upstream client, stream registry, video
    worker), after releasing what a crashed process left held."""
    hub = Hub.create(settings)
    hub.ledger.start()
    hub.instances = Instances(hub)  # before anything can hold credits: refunds what stopped processes held
    await hub.instances.start()
    hub.catalog = load_catalog(settings.catalog_dir)
    hub.http = create_client(
        connect_timeout=settings.upstream_connect_timeout,
        read_timeout=settings.upstream_read_timeout,
        retries=settings.upstream_retries,
        total_timeout=settings.upstream_total_timeout,
        stream_idle_timeout=settings.stream_idle_timeout,
    )
    hub.streams = ActiveStreams(hub)
    await hub.streams.start()
    await release_stale_holds(hub)
    if settings.video_worker is not False:  # follows unfinished video jobs, also those from before a restart
        # One poller among the replicas (elected by a lock) unless HUB_VIDEO_WORKER=true forces it here.
        hub.video_worker = VideoWorker(hub, settings.video_poll_seconds, elect=settings.video_worker is None)
        hub.video_worker.start()
    return hub


async def serve(settings: Settings) -> None:
    hub = await start_hub(settings)
    server, health_servicer = build_server(hub)
    address = f"{settings.host}:{settings.grpc_port}"
    server.add_insecure_port(address)
    await server.start()
    if settings.metrics_port:
        metrics.QUEUE_WAIT.set_function(lambda: hub.ledger.queue_wait.seconds)
        metrics.serve(settings.metrics_port, settings.host)
    _settle_garbage_collector()
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.SERVING)
    log.info("gRPC server listening on %s", address)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: draining in-flight calls")
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    if hub.video_worker is not None:  # hand the poller lock to another replica now, not after the drain
        await hub.video_worker.stop()
        hub.video_worker = None
    await server.stop(grace=10)
    await hub.close()


GC_THRESHOLD = (20_000, 50, 100)  # gen0 allocations before a collection, then gen1 / gen2 multipliers


def _settle_garbage_collector() -> None:
    """Everything loaded at startup (catalog, protobuf descriptors, SQLAlchemy metadata) lives as long as the
    process: frozen out of the collector's generations, so collections only walk per-request objects, and
    those less often (the default gen0 threshold of 700 triggers several collections per request)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


async def _set_health(servicer, status) -> None:
    result = servicer.set("", status)
    if asyncio.iscoroutine(result):
        await result
