"""ImagesService."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indoxhub.v1 import images_pb2, images_pb2_grpc

from server.domain import media
from server.rpc import unary
from server.services.caller import caller_of
from server.services.media_shared import media_response, request_fields
from server.services.messages import struct_value

if TYPE_CHECKING:
    from server.hub import Hub


class ImagesServicer(images_pb2_grpc.ImagesServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    @unary()
    async def CreateImage(self, request, context, principal):
        caller = caller_of(request, context, principal)
        billed = await media.generate_images(self.hub, caller, fields=request_fields(request))
        images = [struct_value(image.as_dict()) for image in billed.result]
        return media_response(images_pb2.ImageResponse, billed, f"Generated {len(billed.result)} image(s)", images)
