from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UsageDataRequest(_message.Message):
    __slots__ = ("start_date", "end_date", "group_by", "provider", "model", "session_id", "endpoint", "include_content", "limit", "offset")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CONTENT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    end_date: str
    group_by: str
    provider: str
    model: str
    session_id: str
    endpoint: str
    include_content: bool
    limit: int
    offset: int
    def __init__(self, start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., group_by: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., session_id: _Optional[str] = ..., endpoint: _Optional[str] = ..., include_content: _Optional[bool] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class UsageGroup(_message.Message):
    __slots__ = ("key", "requests", "input_tokens", "output_tokens", "total_tokens", "cost", "avg_latency_ms", "p95_latency_ms", "errors")
    KEY_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    AVG_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    P95_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    key: str
    requests: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: float
    avg_latency_ms: float
    p95_latency_ms: float
    errors: int
    def __init__(self, key: _Optional[str] = ..., requests: _Optional[int] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., cost: _Optional[float] = ..., avg_latency_ms: _Optional[float] = ..., p95_latency_ms: _Optional[float] = ..., errors: _Optional[int] = ...) -> None: ...

class UsageRecord(_message.Message):
    __slots__ = ("request_id", "created_at", "endpoint", "provider", "model", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "total_tokens", "cost", "latency_ms", "status", "session_id", "client_ip", "error", "byok", "request_content", "response_content")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    REASONING_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    BYOK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_CONTENT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_CONTENT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    created_at: str
    endpoint: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    total_tokens: int
    cost: float
    latency_ms: float
    status: str
    session_id: str
    client_ip: str
    error: str
    byok: bool
    request_content: _struct_pb2.Value
    response_content: _struct_pb2.Value
    def __init__(self, request_id: _Optional[str] = ..., created_at: _Optional[str] = ..., endpoint: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cached_tokens: _Optional[int] = ..., reasoning_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., cost: _Optional[float] = ..., latency_ms: _Optional[float] = ..., status: _Optional[str] = ..., session_id: _Optional[str] = ..., client_ip: _Optional[str] = ..., error: _Optional[str] = ..., byok: _Optional[bool] = ..., request_content: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., response_content: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class UsageTotals(_message.Message):
    __slots__ = ("requests", "input_tokens", "output_tokens", "total_tokens", "cost", "errors")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    requests: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: float
    errors: int
    def __init__(self, requests: _Optional[int] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., cost: _Optional[float] = ..., errors: _Optional[int] = ...) -> None: ...

class UsageDataResponse(_message.Message):
    __slots__ = ("group_by", "groups", "records", "totals", "total_count", "limit", "offset", "content_logging_enabled", "message", "start_date", "end_date")
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    CONTENT_LOGGING_ENABLED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    group_by: str
    groups: _containers.RepeatedCompositeFieldContainer[UsageGroup]
    records: _containers.RepeatedCompositeFieldContainer[UsageRecord]
    totals: UsageTotals
    total_count: int
    limit: int
    offset: int
    content_logging_enabled: bool
    message: str
    start_date: str
    end_date: str
    def __init__(self, group_by: _Optional[str] = ..., groups: _Optional[_Iterable[_Union[UsageGroup, _Mapping]]] = ..., records: _Optional[_Iterable[_Union[UsageRecord, _Mapping]]] = ..., totals: _Optional[_Union[UsageTotals, _Mapping]] = ..., total_count: _Optional[int] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., content_logging_enabled: _Optional[bool] = ..., message: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class SessionDataRequest(_message.Message):
    __slots__ = ("start_date", "end_date", "session_id", "limit", "offset")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    end_date: str
    session_id: str
    limit: int
    offset: int
    def __init__(self, start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., session_id: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class SessionInteraction(_message.Message):
    __slots__ = ("request_id", "created_at", "endpoint", "provider", "model", "input_tokens", "output_tokens", "total_tokens", "cost", "latency_ms", "status")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    created_at: str
    endpoint: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: float
    latency_ms: float
    status: str
    def __init__(self, request_id: _Optional[str] = ..., created_at: _Optional[str] = ..., endpoint: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., cost: _Optional[float] = ..., latency_ms: _Optional[float] = ..., status: _Optional[str] = ...) -> None: ...

class SessionSummary(_message.Message):
    __slots__ = ("session_id", "started_at", "ended_at", "requests", "total_tokens", "cost", "errors", "interactions", "input_tokens", "output_tokens", "avg_latency_ms", "more_interactions")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    INTERACTIONS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    AVG_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    MORE_INTERACTIONS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    started_at: str
    ended_at: str
    requests: int
    total_tokens: int
    cost: float
    errors: int
    interactions: _containers.RepeatedCompositeFieldContainer[SessionInteraction]
    input_tokens: int
    output_tokens: int
    avg_latency_ms: float
    more_interactions: bool
    def __init__(self, session_id: _Optional[str] = ..., started_at: _Optional[str] = ..., ended_at: _Optional[str] = ..., requests: _Optional[int] = ..., total_tokens: _Optional[int] = ..., cost: _Optional[float] = ..., errors: _Optional[int] = ..., interactions: _Optional[_Iterable[_Union[SessionInteraction, _Mapping]]] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., avg_latency_ms: _Optional[float] = ..., more_interactions: _Optional[bool] = ...) -> None: ...

class SessionDataResponse(_message.Message):
    __slots__ = ("sessions", "total_sessions", "limit", "offset", "start_date", "end_date")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[SessionSummary]
    total_sessions: int
    limit: int
    offset: int
    start_date: str
    end_date: str
    def __init__(self, sessions: _Optional[_Iterable[_Union[SessionSummary, _Mapping]]] = ..., total_sessions: _Optional[int] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class ModelPerformanceRequest(_message.Message):
    __slots__ = ("start_date", "end_date", "provider")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    end_date: str
    provider: str
    def __init__(self, start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., provider: _Optional[str] = ...) -> None: ...

class ModelPerformance(_message.Message):
    __slots__ = ("provider", "model", "requests", "success_rate", "errors", "input_tokens", "output_tokens", "total_tokens", "cost", "avg_latency_ms", "p50_latency_ms", "p95_latency_ms", "avg_ttft_ms", "streams")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    AVG_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    P50_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    P95_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    AVG_TTFT_MS_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    requests: int
    success_rate: float
    errors: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: float
    avg_latency_ms: float
    p50_latency_ms: float
    p95_latency_ms: float
    avg_ttft_ms: float
    streams: int
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., requests: _Optional[int] = ..., success_rate: _Optional[float] = ..., errors: _Optional[int] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., cost: _Optional[float] = ..., avg_latency_ms: _Optional[float] = ..., p50_latency_ms: _Optional[float] = ..., p95_latency_ms: _Optional[float] = ..., avg_ttft_ms: _Optional[float] = ..., streams: _Optional[int] = ...) -> None: ...

class ModelPerformanceResponse(_message.Message):
    __slots__ = ("models", "start_date", "end_date")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelPerformance]
    start_date: str
    end_date: str
    def __init__(self, models: _Optional[_Iterable[_Union[ModelPerformance, _Mapping]]] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...
