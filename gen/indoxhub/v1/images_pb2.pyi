from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from indoxhub.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageRequest(_message.Message):
    __slots__ = ("prompt", "provider", "model", "size", "n", "quality", "style", "response_format", "user", "background", "moderation", "output_compression", "output_format", "negative_prompt", "guidance_scale", "seed", "safety_filter_level", "person_generation", "include_safety_attributes", "include_rai_reason", "language", "output_mime_type", "add_watermark", "enhance_prompt", "aspect_ratio", "additional_params", "byok_api_key")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_FIELD_NUMBER: _ClassVar[int]
    MODERATION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SAFETY_FILTER_LEVEL_FIELD_NUMBER: _ClassVar[int]
    PERSON_GENERATION_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SAFETY_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RAI_REASON_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    ADD_WATERMARK_FIELD_NUMBER: _ClassVar[int]
    ENHANCE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    ASPECT_RATIO_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_PARAMS_FIELD_NUMBER: _ClassVar[int]
    BYOK_API_KEY_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    provider: str
    model: str
    size: str
    n: int
    quality: str
    style: str
    response_format: str
    user: str
    background: str
    moderation: str
    output_compression: int
    output_format: str
    negative_prompt: str
    guidance_scale: float
    seed: int
    safety_filter_level: str
    person_generation: str
    include_safety_attributes: bool
    include_rai_reason: bool
    language: str
    output_mime_type: str
    add_watermark: bool
    enhance_prompt: bool
    aspect_ratio: str
    additional_params: _struct_pb2.Struct
    byok_api_key: str
    def __init__(self, prompt: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., size: _Optional[str] = ..., n: _Optional[int] = ..., quality: _Optional[str] = ..., style: _Optional[str] = ..., response_format: _Optional[str] = ..., user: _Optional[str] = ..., background: _Optional[str] = ..., moderation: _Optional[str] = ..., output_compression: _Optional[int] = ..., output_format: _Optional[str] = ..., negative_prompt: _Optional[str] = ..., guidance_scale: _Optional[float] = ..., seed: _Optional[int] = ..., safety_filter_level: _Optional[str] = ..., person_generation: _Optional[str] = ..., include_safety_attributes: _Optional[bool] = ..., include_rai_reason: _Optional[bool] = ..., language: _Optional[str] = ..., output_mime_type: _Optional[str] = ..., add_watermark: _Optional[bool] = ..., enhance_prompt: _Optional[bool] = ..., aspect_ratio: _Optional[str] = ..., additional_params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., byok_api_key: _Optional[str] = ...) -> None: ...

class ImageResponse(_message.Message):
    __slots__ = ("request_id", "created_at", "duration_ms", "provider", "model", "success", "message", "usage", "raw_response", "data")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    RAW_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    created_at: str
    duration_ms: float
    provider: str
    model: str
    success: bool
    message: str
    usage: _common_pb2.Usage
    raw_response: _struct_pb2.Struct
    data: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    def __init__(self, request_id: _Optional[str] = ..., created_at: _Optional[str] = ..., duration_ms: _Optional[float] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., success: _Optional[bool] = ..., message: _Optional[str] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., raw_response: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., data: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ...) -> None: ...
