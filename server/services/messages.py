"""Protobuf <-> plain Python for request fields and event dicts (Struct, Value, typed responses)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2
from google.protobuf.message import Message

from server.errors import ValidationFailed

INT64_LIMIT = 2**63  # what providers' JSON parsers (and orjson) accept as an integer


def _ints(value: Any, loc: list) -> Any:
    """Struct numbers arrive as floats; integral ones go back to int (seeds, sizes, n). A number too large for a
    64-bit integer is refused here, naming its field, rather than failing later when the provider body is built."""
    if isinstance(value, float):
        if abs(value) >= INT64_LIMIT:
            raise ValidationFailed.single(
                loc, "Input should be a number between -2^63 and 2^63 (exclusive)", "less_than"
            )
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {k: _ints(v, [*loc, k]) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v, [*loc, i]) for i, v in enumerate(value)]
    return value


def plain_value(value: struct_pb2.Value) -> Any:
    """A Value as plain Python, as json_format.MessageToDict gives it (numbers as floats), without its
    per-field reflection: every chat message's content goes through here."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        return value.number_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return plain_struct(value.struct_value)
    if kind == "list_value":
        return [plain_value(item) for item in value.list_value.values]
    return None  # null_value, or unset


def plain_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return {key: plain_value(item) for key, item in struct.fields.items()}


def struct_dict(message: Message, field: str) -> dict[str, Any]:
    if not message.HasField(field):
        return {}
    return _ints(plain_struct(getattr(message, field)), ["body", field])


def value_py(message: Message, field: str, loc: list | None = None) -> Any:
    """A Value field as plain Python; `loc` is where a caller finds it in their request (for a 422)."""
    if not message.HasField(field):
        return None
    return _ints(plain_value(getattr(message, field)), loc or ["body", field])


def opt(message: Message, field: str) -> Any:
    """An optional scalar's value, or None when unset (JSON null or absent)."""
    return getattr(message, field) if message.HasField(field) else None


def to_message(data: dict[str, Any], cls: type[Message]) -> Message:
    return json_format.ParseDict(data, cls(), ignore_unknown_fields=True)


def list_value(items: list[Any]) -> struct_pb2.ListValue:
    out = struct_pb2.ListValue()
    out.extend(items)
    return out


def struct_value(data: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(data)
    return out
