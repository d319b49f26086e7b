from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from indoxhub.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VideoRequest(_message.Message):
    __slots__ = ("prompt", "provider", "model", "aspect_ratio", "resolution", "duration", "n", "size", "input_image", "reference_image", "reference_images", "generate_audio", "negative_prompt", "person_generation", "last_frame", "video", "response_format", "additional_params", "byok_api_key")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ASPECT_RATIO_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    INPUT_IMAGE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_IMAGE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_IMAGES_FIELD_NUMBER: _ClassVar[int]
    GENERATE_AUDIO_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    PERSON_GENERATION_FIELD_NUMBER: _ClassVar[int]
    LAST_FRAME_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_PARAMS_FIELD_NUMBER: _ClassVar[int]
    BYOK_API_KEY_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    provider: str
    model: str
    aspect_ratio: str
    resolution: str
    duration: int
    n: int
    size: str
    input_image: str
    reference_image: str
    reference_images: _containers.RepeatedScalarFieldContainer[str]
    generate_audio: bool
    negative_prompt: str
    person_generation: str
    last_frame: str
    video: str
    response_format: str
    additional_params: _struct_pb2.Struct
    byok_api_key: str
    def __init__(self, prompt: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., aspect_ratio: _Optional[str] = ..., resolution: _Optional[str] = ..., duration: _Optional[int] = ..., n: _Optional[int] = ..., size: _Optional[str] = ..., input_image: _Optional[str] = ..., reference_image: _Optional[str] = ..., reference_images: _Optional[_Iterable[str]] = ..., generate_audio: _Optional[bool] = ..., negative_prompt: _Optional[str] = ..., person_generation: _Optional[str] = ..., last_frame: _Optional[str] = ..., video: _Optional[str] = ..., response_format: _Optional[str] = ..., additional_params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., byok_api_key: _Optional[str] = ...) -> None: ...

class VideoResponse(_message.Message):
    __slots__ = ("request_id", "created_at", "duration_ms", "provider", "model", "success", "message", "usage", "data")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    created_at: str
    duration_ms: float
    provider: str
    model: str
    success: bool
    message: str
    usage: _common_pb2.Usage
    data: _struct_pb2.Struct
    def __init__(self, request_id: _Optional[str] = ..., created_at: _Optional[str] = ..., duration_ms: _Optional[float] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., success: _Optional[bool] = ..., message: _Optional[str] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class VideoJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListVideoJobsRequest(_message.Message):
    __slots__ = ("limit", "skip")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SKIP_FIELD_NUMBER: _ClassVar[int]
    limit: int
    skip: int
    def __init__(self, limit: _Optional[int] = ..., skip: _Optional[int] = ...) -> None: ...

class VideoJob(_message.Message):
    __slots__ = ("job_id", "status", "progress", "provider", "model", "prompt", "created_at", "updated_at", "completed_at", "result", "error", "cost", "is_async")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    IS_ASYNC_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    status: str
    progress: int
    provider: str
    model: str
    prompt: str
    created_at: str
    updated_at: str
    completed_at: str
    result: _struct_pb2.Struct
    error: str
    cost: float
    is_async: bool
    def __init__(self, job_id: _Optional[str] = ..., status: _Optional[str] = ..., progress: _Optional[int] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., prompt: _Optional[str] = ..., created_at: _Optional[str] = ..., updated_at: _Optional[str] = ..., completed_at: _Optional[str] = ..., result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., error: _Optional[str] = ..., cost: _Optional[float] = ..., is_async: _Optional[bool] = ...) -> None: ...

class VideoJobList(_message.Message):
    __slots__ = ("jobs", "total", "limit", "skip", "has_more")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SKIP_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[VideoJob]
    total: int
    limit: int
    skip: int
    has_more: bool
    def __init__(self, jobs: _Optional[_Iterable[_Union[VideoJob, _Mapping]]] = ..., total: _Optional[int] = ..., limit: _Optional[int] = ..., skip: _Optional[int] = ..., has_more: _Optional[bool] = ...) -> None: ...
