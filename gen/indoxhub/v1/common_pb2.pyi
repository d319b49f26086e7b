from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ValidationError(_message.Message):
    __slots__ = ("loc", "msg", "type")
    LOC_FIELD_NUMBER: _ClassVar[int]
    MSG_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    loc: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    msg: str
    type: str
    def __init__(self, loc: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ..., msg: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class HTTPValidationError(_message.Message):
    __slots__ = ("detail",)
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    detail: _containers.RepeatedCompositeFieldContainer[ValidationError]
    def __init__(self, detail: _Optional[_Iterable[_Union[ValidationError, _Mapping]]] = ...) -> None: ...

class TokenUsage(_message.Message):
    __slots__ = ("input", "output", "total")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    input: int
    output: int
    total: int
    def __init__(self, input: _Optional[int] = ..., output: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class UsageStats(_message.Message):
    __slots__ = ("requests", "cost", "tokens")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    requests: int
    cost: float
    tokens: TokenUsage
    def __init__(self, requests: _Optional[int] = ..., cost: _Optional[float] = ..., tokens: _Optional[_Union[TokenUsage, _Mapping]] = ...) -> None: ...

class DailyUsage(_message.Message):
    __slots__ = ("date", "requests", "cost", "tokens")
    DATE_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    date: str
    requests: int
    cost: float
    tokens: TokenUsage
    def __init__(self, date: _Optional[str] = ..., requests: _Optional[int] = ..., cost: _Optional[float] = ..., tokens: _Optional[_Union[TokenUsage, _Mapping]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("tokens_prompt", "tokens_completion", "tokens_total", "cost", "latency", "timestamp", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "web_search_count", "request_count", "cost_breakdown")
    TOKENS_PROMPT_FIELD_NUMBER: _ClassVar[int]
    TOKENS_COMPLETION_FIELD_NUMBER: _ClassVar[int]
    TOKENS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CACHE_READ_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    REASONING_TOKENS_FIELD_NUMBER: _ClassVar[int]
    WEB_SEARCH_COUNT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_COUNT_FIELD_NUMBER: _ClassVar[int]
    COST_BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    tokens_prompt: int
    tokens_completion: int
    tokens_total: int
    cost: float
    latency: float
    timestamp: str
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    web_search_count: int
    request_count: int
    cost_breakdown: _struct_pb2.Struct
    def __init__(self, tokens_prompt: _Optional[int] = ..., tokens_completion: _Optional[int] = ..., tokens_total: _Optional[int] = ..., cost: _Optional[float] = ..., latency: _Optional[float] = ..., timestamp: _Optional[str] = ..., cache_read_tokens: _Optional[int] = ..., cache_write_tokens: _Optional[int] = ..., reasoning_tokens: _Optional[int] = ..., web_search_count: _Optional[int] = ..., request_count: _Optional[int] = ..., cost_breakdown: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SuccessResponse(_message.Message):
    __slots__ = ("success", "message")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...
