from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EmbeddingRequest(_message.Message):
    __slots__ = ("text", "provider", "model", "additional_params", "byok_api_key")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_PARAMS_FIELD_NUMBER: _ClassVar[int]
    BYOK_API_KEY_FIELD_NUMBER: _ClassVar[int]
    text: _struct_pb2.Value
    provider: str
    model: str
    additional_params: _struct_pb2.Struct
    byok_api_key: str
    def __init__(self, text: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., additional_params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., byok_api_key: _Optional[str] = ...) -> None: ...

class EmbeddingUsage(_message.Message):
    __slots__ = ("input_tokens", "total_tokens", "cost")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    total_tokens: int
    cost: float
    def __init__(self, input_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., cost: _Optional[float] = ...) -> None: ...

class EmbeddingResponse(_message.Message):
    __slots__ = ("request_id", "created_at", "duration_ms", "provider", "model", "success", "message", "usage", "data", "dimensions")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    created_at: str
    duration_ms: float
    provider: str
    model: str
    success: bool
    message: str
    usage: EmbeddingUsage
    data: _struct_pb2.ListValue
    dimensions: int
    def __init__(self, request_id: _Optional[str] = ..., created_at: _Optional[str] = ..., duration_ms: _Optional[float] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., success: _Optional[bool] = ..., message: _Optional[str] = ..., usage: _Optional[_Union[EmbeddingUsage, _Mapping]] = ..., data: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., dimensions: _Optional[int] = ...) -> None: ...
