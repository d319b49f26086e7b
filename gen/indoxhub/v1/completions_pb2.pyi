from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from indoxhub.v1 import responses_pb2 as _responses_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CompletionRequest(_message.Message):
    __slots__ = ("prompt", "provider", "model", "temperature", "max_tokens", "top_p", "frequency_penalty", "presence_penalty", "stream", "additional_params", "byok_api_key")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_PENALTY_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_PARAMS_FIELD_NUMBER: _ClassVar[int]
    BYOK_API_KEY_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    provider: str
    model: str
    temperature: float
    max_tokens: int
    top_p: float
    frequency_penalty: float
    presence_penalty: float
    stream: bool
    additional_params: _struct_pb2.Struct
    byok_api_key: str
    def __init__(self, prompt: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., temperature: _Optional[float] = ..., max_tokens: _Optional[int] = ..., top_p: _Optional[float] = ..., frequency_penalty: _Optional[float] = ..., presence_penalty: _Optional[float] = ..., stream: _Optional[bool] = ..., additional_params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., byok_api_key: _Optional[str] = ...) -> None: ...

class CompletionResponse(_message.Message):
    __slots__ = ("id", "object", "created_at", "model", "provider", "duration_ms", "output", "usage", "status", "request_id", "success", "finish_reason", "data", "message")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    model: str
    provider: str
    duration_ms: float
    output: _containers.RepeatedCompositeFieldContainer[_responses_pb2.OutputItem]
    usage: _responses_pb2.ResponseUsage
    status: str
    request_id: str
    success: bool
    finish_reason: str
    data: str
    message: str
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., duration_ms: _Optional[float] = ..., output: _Optional[_Iterable[_Union[_responses_pb2.OutputItem, _Mapping]]] = ..., usage: _Optional[_Union[_responses_pb2.ResponseUsage, _Mapping]] = ..., status: _Optional[str] = ..., request_id: _Optional[str] = ..., success: _Optional[bool] = ..., finish_reason: _Optional[str] = ..., data: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
