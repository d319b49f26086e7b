"""Struct / Value fields read without json_format give exactly what json_format.MessageToDict gives."""

from __future__ import annotations

from google.protobuf import json_format, struct_pb2

from server.services.messages import plain_struct, plain_value

SAMPLES = [
    "hello",
    "",
    0,
    -1.5,
    2**40,
    True,
    False,
    None,
    [],
    {},
    [1, "a", None, [True, {"x": [2.5]}]],
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "n": 3},
    [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}],
]


def test_plain_value_matches_message_to_dict() -> None:
    for sample in SAMPLES:
        value = struct_pb2.Value()
        json_format.ParseDict(sample, value)
        assert plain_value(value) == json_format.MessageToDict(value)
        assert type(plain_value(value)) is type(json_format.MessageToDict(value))
    assert plain_value(struct_pb2.Value()) is None  # unset: what MessageToDict gives too


def test_plain_struct_matches_message_to_dict() -> None:
    for sample in SAMPLES:
        if isinstance(sample, dict):
            struct = struct_pb2.Struct()
            struct.update(sample)
            assert plain_struct(struct) == json_format.MessageToDict(struct)
