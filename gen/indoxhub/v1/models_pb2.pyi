from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProviderRequest(_message.Message):
    __slots__ = ("provider_id",)
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    def __init__(self, provider_id: _Optional[str] = ...) -> None: ...

class ModelRequest(_message.Message):
    __slots__ = ("provider_id", "model_id")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    model_id: str
    def __init__(self, provider_id: _Optional[str] = ..., model_id: _Optional[str] = ...) -> None: ...

class TrendingModelsRequest(_message.Message):
    __slots__ = ("days", "limit")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    days: int
    limit: int
    def __init__(self, days: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class TrendingModel(_message.Message):
    __slots__ = ("rank", "provider", "model", "requests", "tokens", "users", "share")
    RANK_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    rank: int
    provider: str
    model: str
    requests: int
    tokens: int
    users: int
    share: float
    def __init__(self, rank: _Optional[int] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., requests: _Optional[int] = ..., tokens: _Optional[int] = ..., users: _Optional[int] = ..., share: _Optional[float] = ...) -> None: ...

class TrendingModelsResponse(_message.Message):
    __slots__ = ("days", "models")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    days: int
    models: _containers.RepeatedCompositeFieldContainer[TrendingModel]
    def __init__(self, days: _Optional[int] = ..., models: _Optional[_Iterable[_Union[TrendingModel, _Mapping]]] = ...) -> None: ...
