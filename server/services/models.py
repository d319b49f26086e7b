"""ModelsService: the catalog exactly as stored, plus trending models from usage records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indoxhub.v1 import models_pb2, models_pb2_grpc

from server.domain import trending
from server.rpc import unary
from server.services.messages import list_value, opt, struct_value

if TYPE_CHECKING:
    from server.hub import Hub


class ModelsServicer(models_pb2_grpc.ModelsServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    @property
    def catalog(self):
        return self.hub.catalog

    def _category(self, request, category: str):
        return list_value(self.catalog.models_in(request.provider_id, category))

    @unary()
    async def GetProviders(self, request, context, principal):
        return list_value(self.catalog.providers())

    @unary(auth=False)
    async def GetTrendingModels(self, request, context, principal):
        days, limit = trending.check_window(opt(request, "days"), opt(request, "limit"))
        rows, total = await trending.trending(self.hub, days, limit)
        return models_pb2.TrendingModelsResponse(
            days=days,
            models=[
                models_pb2.TrendingModel(
                    rank=i + 1,
                    provider=r.provider,
                    model=r.model,
                    requests=r.requests,
                    tokens=r.tokens,
                    users=r.users,
                    share=round(100.0 * r.requests / total, 2) if total else 0.0,
                )
                for i, r in enumerate(rows)
            ],
        )

    @unary()
    async def GetProviderInfo(self, request, context, principal):
        return struct_value(self.catalog.provider(request.provider_id))

    @unary()
    async def GetTextCompletionModels(self, request, context, principal):
        return self._category(request, "text_completions")

    @unary()
    async def GetEmbeddingModels(self, request, context, principal):
        return self._category(request, "embeddings")

    @unary()
    async def GetImageGenerationModels(self, request, context, principal):
        return self._category(request, "image_generation")

    @unary()
    async def GetTextToSpeechModels(self, request, context, principal):
        return self._category(request, "text_to_speech")

    @unary()
    async def GetSpeechToTextModels(self, request, context, principal):
        return self._category(request, "speech_to_text")

    @unary()
    async def GetVideoGenerationModels(self, request, context, principal):
        return self._category(request, "video_generation")

    @unary()
    async def GetModelInfo(self, request, context, principal):
        return struct_value(self.catalog.model(request.provider_id, request.model_id))
