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
