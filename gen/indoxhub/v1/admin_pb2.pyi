from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CreateUserRequest(_message.Message):
    __slots__ = ("email", "credits", "username")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    email: str
    credits: float
    username: str
    def __init__(self, email: _Optional[str] = ..., credits: _Optional[float] = ..., username: _Optional[str] = ...) -> None: ...

class CreateUserResponse(_message.Message):
    __slots__ = ("user_id", "email", "api_key", "api_key_id", "credits")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    API_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    email: str
    api_key: str
    api_key_id: int
    credits: float
    def __init__(self, user_id: _Optional[int] = ..., email: _Optional[str] = ..., api_key: _Optional[str] = ..., api_key_id: _Optional[int] = ..., credits: _Optional[float] = ...) -> None: ...

class AddCreditsRequest(_message.Message):
    __slots__ = ("email", "amount", "description")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    email: str
    amount: float
    description: str
    def __init__(self, email: _Optional[str] = ..., amount: _Optional[float] = ..., description: _Optional[str] = ...) -> None: ...

class AddCreditsResponse(_message.Message):
    __slots__ = ("user_id", "credits", "transaction_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    credits: float
    transaction_id: str
    def __init__(self, user_id: _Optional[int] = ..., credits: _Optional[float] = ..., transaction_id: _Optional[str] = ...) -> None: ...

class SetDefaultLimitsRequest(_message.Message):
    __slots__ = ("email", "requests_per_minute", "tokens_per_minute", "max_concurrent_requests", "budget_usd", "budget_period")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_USD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_PERIOD_FIELD_NUMBER: _ClassVar[int]
    email: str
    requests_per_minute: int
    tokens_per_minute: int
    max_concurrent_requests: int
    budget_usd: float
    budget_period: str
    def __init__(self, email: _Optional[str] = ..., requests_per_minute: _Optional[int] = ..., tokens_per_minute: _Optional[int] = ..., max_concurrent_requests: _Optional[int] = ..., budget_usd: _Optional[float] = ..., budget_period: _Optional[str] = ...) -> None: ...

class SetDefaultLimitsResponse(_message.Message):
    __slots__ = ("user_id", "requests_per_minute", "tokens_per_minute", "max_concurrent_requests", "budget_usd", "budget_period")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_USD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_PERIOD_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    requests_per_minute: int
    tokens_per_minute: int
    max_concurrent_requests: int
    budget_usd: float
    budget_period: str
    def __init__(self, user_id: _Optional[int] = ..., requests_per_minute: _Optional[int] = ..., tokens_per_minute: _Optional[int] = ..., max_concurrent_requests: _Optional[int] = ..., budget_usd: _Optional[float] = ..., budget_period: _Optional[str] = ...) -> None: ...
