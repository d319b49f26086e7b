from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from indoxhub.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HealthResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: str
    def __init__(self, status: _Optional[str] = ...) -> None: ...

class UserResponse(_message.Message):
    __slots__ = ("id", "username", "email", "first_name", "last_name", "is_active", "credits", "app_credit", "account_tier", "created_at", "metadata", "has_model_restrictions", "has_password", "avatar_url")
    ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    APP_CREDIT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_TIER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    HAS_MODEL_RESTRICTIONS_FIELD_NUMBER: _ClassVar[int]
    HAS_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    AVATAR_URL_FIELD_NUMBER: _ClassVar[int]
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_active: bool
    credits: float
    app_credit: int
    account_tier: str
    created_at: str
    metadata: _struct_pb2.Struct
    has_model_restrictions: bool
    has_password: bool
    avatar_url: str
    def __init__(self, id: _Optional[int] = ..., username: _Optional[str] = ..., email: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., is_active: _Optional[bool] = ..., credits: _Optional[float] = ..., app_credit: _Optional[int] = ..., account_tier: _Optional[str] = ..., created_at: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., has_model_restrictions: _Optional[bool] = ..., has_password: _Optional[bool] = ..., avatar_url: _Optional[str] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ("limit", "offset")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    limit: int
    offset: int
    def __init__(self, limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class TransactionItem(_message.Message):
    __slots__ = ("id", "transaction_id", "amount", "currency", "transaction_type", "status", "payment_method", "description", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    transaction_id: str
    amount: float
    currency: str
    transaction_type: str
    status: str
    payment_method: str
    description: str
    created_at: str
    def __init__(self, id: _Optional[int] = ..., transaction_id: _Optional[str] = ..., amount: _Optional[float] = ..., currency: _Optional[str] = ..., transaction_type: _Optional[str] = ..., status: _Optional[str] = ..., payment_method: _Optional[str] = ..., description: _Optional[str] = ..., created_at: _Optional[str] = ...) -> None: ...

class TransactionList(_message.Message):
    __slots__ = ("transactions", "total_count")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[TransactionItem]
    total_count: int
    def __init__(self, transactions: _Optional[_Iterable[_Union[TransactionItem, _Mapping]]] = ..., total_count: _Optional[int] = ...) -> None: ...

class ApiKeyCreate(_message.Message):
    __slots__ = ("name", "expiration_time", "requests_per_minute", "tokens_per_minute", "max_concurrent_requests", "budget_usd", "budget_period")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_USD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_PERIOD_FIELD_NUMBER: _ClassVar[int]
    name: str
    expiration_time: int
    requests_per_minute: int
    tokens_per_minute: int
    max_concurrent_requests: int
    budget_usd: float
    budget_period: str
    def __init__(self, name: _Optional[str] = ..., expiration_time: _Optional[int] = ..., requests_per_minute: _Optional[int] = ..., tokens_per_minute: _Optional[int] = ..., max_concurrent_requests: _Optional[int] = ..., budget_usd: _Optional[float] = ..., budget_period: _Optional[str] = ...) -> None: ...

class ApiKeyUpdate(_message.Message):
    __slots__ = ("api_key_id", "name", "requests_per_minute", "tokens_per_minute", "max_concurrent_requests", "budget_usd", "budget_period")
    API_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_USD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_PERIOD_FIELD_NUMBER: _ClassVar[int]
    api_key_id: int
    name: str
    requests_per_minute: _struct_pb2.Value
    tokens_per_minute: _struct_pb2.Value
    max_concurrent_requests: _struct_pb2.Value
    budget_usd: _struct_pb2.Value
    budget_period: _struct_pb2.Value
    def __init__(self, api_key_id: _Optional[int] = ..., name: _Optional[str] = ..., requests_per_minute: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., tokens_per_minute: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., max_concurrent_requests: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., budget_usd: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., budget_period: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class KeyLimitUse(_message.Message):
    __slots__ = ("requests_in_window", "tokens_in_window", "requests_in_flight", "spend_in_period")
    REQUESTS_IN_WINDOW_FIELD_NUMBER: _ClassVar[int]
    TOKENS_IN_WINDOW_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    SPEND_IN_PERIOD_FIELD_NUMBER: _ClassVar[int]
    requests_in_window: int
    tokens_in_window: int
    requests_in_flight: int
    spend_in_period: float
    def __init__(self, requests_in_window: _Optional[int] = ..., tokens_in_window: _Optional[int] = ..., requests_in_flight: _Optional[int] = ..., spend_in_period: _Optional[float] = ...) -> None: ...

class ApiKeyCreatedResponse(_message.Message):
    __slots__ = ("id", "api_key", "name", "is_active", "created_at", "expires_at", "last_used_at", "requests_per_minute", "tokens_per_minute", "max_concurrent_requests", "budget_usd", "budget_period", "usage")
    ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_USD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_PERIOD_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    id: int
    api_key: str
    name: str
    is_active: bool
    created_at: str
    expires_at: str
    last_used_at: str
    requests_per_minute: int
    tokens_per_minute: int
    max_concurrent_requests: int
    budget_usd: float
    budget_period: str
    usage: KeyLimitUse
    def __init__(self, id: _Optional[int] = ..., api_key: _Optional[str] = ..., name: _Optional[str] = ..., is_active: _Optional[bool] = ..., created_at: _Optional[str] = ..., expires_at: _Optional[str] = ..., last_used_at: _Optional[str] = ..., requests_per_minute: _Optional[int] = ..., tokens_per_minute: _Optional[int] = ..., max_concurrent_requests: _Optional[int] = ..., budget_usd: _Optional[float] = ..., budget_period: _Optional[str] = ..., usage: _Optional[_Union[KeyLimitUse, _Mapping]] = ...) -> None: ...

class ApiKeyResponse(_message.Message):
    __slots__ = ("id", "api_key", "name", "is_active", "created_at", "expires_at", "last_used_at", "requests_per_minute", "tokens_per_minute", "max_concurrent_requests", "budget_usd", "budget_period", "usage")
    ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_USD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_PERIOD_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    id: int
    api_key: str
    name: str
    is_active: bool
    created_at: str
    expires_at: str
    last_used_at: str
    requests_per_minute: int
    tokens_per_minute: int
    max_concurrent_requests: int
    budget_usd: float
    budget_period: str
    usage: KeyLimitUse
    def __init__(self, id: _Optional[int] = ..., api_key: _Optional[str] = ..., name: _Optional[str] = ..., is_active: _Optional[bool] = ..., created_at: _Optional[str] = ..., expires_at: _Optional[str] = ..., last_used_at: _Optional[str] = ..., requests_per_minute: _Optional[int] = ..., tokens_per_minute: _Optional[int] = ..., max_concurrent_requests: _Optional[int] = ..., budget_usd: _Optional[float] = ..., budget_period: _Optional[str] = ..., usage: _Optional[_Union[KeyLimitUse, _Mapping]] = ...) -> None: ...

class ApiKeyList(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[ApiKeyResponse]
    def __init__(self, keys: _Optional[_Iterable[_Union[ApiKeyResponse, _Mapping]]] = ...) -> None: ...

class ApiKeyIdRequest(_message.Message):
    __slots__ = ("api_key_id",)
    API_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    api_key_id: int
    def __init__(self, api_key_id: _Optional[int] = ...) -> None: ...

class GetUsageStatsRequest(_message.Message):
    __slots__ = ("start_date", "end_date")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    end_date: str
    def __init__(self, start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class UsageResponse(_message.Message):
    __slots__ = ("total_requests", "total_cost", "remaining_credits", "total_tokens", "endpoints", "providers", "models", "daily_usage")
    class EndpointsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.UsageStats
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.UsageStats, _Mapping]] = ...) -> None: ...
    class ProvidersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.UsageStats
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.UsageStats, _Mapping]] = ...) -> None: ...
    class ModelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.UsageStats
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.UsageStats, _Mapping]] = ...) -> None: ...
    TOTAL_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_FIELD_NUMBER: _ClassVar[int]
    REMAINING_CREDITS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    DAILY_USAGE_FIELD_NUMBER: _ClassVar[int]
    total_requests: int
    total_cost: float
    remaining_credits: float
    total_tokens: _common_pb2.TokenUsage
    endpoints: _containers.MessageMap[str, _common_pb2.UsageStats]
    providers: _containers.MessageMap[str, _common_pb2.UsageStats]
    models: _containers.MessageMap[str, _common_pb2.UsageStats]
    daily_usage: _containers.RepeatedCompositeFieldContainer[_common_pb2.DailyUsage]
    def __init__(self, total_requests: _Optional[int] = ..., total_cost: _Optional[float] = ..., remaining_credits: _Optional[float] = ..., total_tokens: _Optional[_Union[_common_pb2.TokenUsage, _Mapping]] = ..., endpoints: _Optional[_Mapping[str, _common_pb2.UsageStats]] = ..., providers: _Optional[_Mapping[str, _common_pb2.UsageStats]] = ..., models: _Optional[_Mapping[str, _common_pb2.UsageStats]] = ..., daily_usage: _Optional[_Iterable[_Union[_common_pb2.DailyUsage, _Mapping]]] = ...) -> None: ...
