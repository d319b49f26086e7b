from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from indoxhub.v1 import common_pb2 as _common_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioRequest(_message.Message):
    __slots__ = ("input", "provider", "model", "voice", "instructions", "response_format", "speed", "additional_params", "byok_api_key")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_PARAMS_FIELD_NUMBER: _ClassVar[int]
    BYOK_API_KEY_FIELD_NUMBER: _ClassVar[int]
    input: str
    provider: str
    model: str
    voice: str
    instructions: str
    response_format: str
    speed: float
    additional_params: _struct_pb2.Struct
    byok_api_key: str
    def __init__(self, input: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., voice: _Optional[str] = ..., instructions: _Optional[str] = ..., response_format: _Optional[str] = ..., speed: _Optional[float] = ..., additional_params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., byok_api_key: _Optional[str] = ...) -> None: ...

class BodyCreateTranscriptionAudioSttTranscriptionsPost(_message.Message):
    __slots__ = ("file", "provider", "model", "language", "prompt", "response_format", "temperature", "timestamp_granularities", "byok_api_key")
    FILE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_GRANULARITIES_FIELD_NUMBER: _ClassVar[int]
    BYOK_API_KEY_FIELD_NUMBER: _ClassVar[int]
    file: bytes
    provider: str
    model: str
    language: str
    prompt: str
    response_format: str
    temperature: float
    timestamp_granularities: str
    byok_api_key: str
    def __init__(self, file: _Optional[bytes] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., language: _Optional[str] = ..., prompt: _Optional[str] = ..., response_format: _Optional[str] = ..., temperature: _Optional[float] = ..., timestamp_granularities: _Optional[str] = ..., byok_api_key: _Optional[str] = ...) -> None: ...

class BodyCreateTranslationAudioSttTranslationsPost(_message.Message):
    __slots__ = ("file", "provider", "model", "prompt", "response_format", "temperature", "byok_api_key")
    FILE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    BYOK_API_KEY_FIELD_NUMBER: _ClassVar[int]
    file: bytes
    provider: str
    model: str
    prompt: str
    response_format: str
    temperature: float
    byok_api_key: str
    def __init__(self, file: _Optional[bytes] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., prompt: _Optional[str] = ..., response_format: _Optional[str] = ..., temperature: _Optional[float] = ..., byok_api_key: _Optional[str] = ...) -> None: ...

class AudioResponse(_message.Message):
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
    data: _struct_pb2.Struct
    def __init__(self, request_id: _Optional[str] = ..., created_at: _Optional[str] = ..., duration_ms: _Optional[float] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., success: _Optional[bool] = ..., message: _Optional[str] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., raw_response: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
