"""Protobuf <-> plain Python for request fields and event dicts (Struct, Value, typed responses)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2
from google.protobuf.message import Message


def _ints(value: Any) -> Any:
    """Struct numbers arrive as floats; integral ones go back to int (seeds, sizes, n)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def struct_dict(message: Message, field: str) -> dict[str, Any]:
    return _ints(json_format.MessageToDict(getattr(message, field))) if message.HasField(field) else {}


def value_py(message: Message, field: str) -> Any:
    return _ints(json_format.MessageToDict(getattr(message, field))) if message.HasField(field) else None


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
