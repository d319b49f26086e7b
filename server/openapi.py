"""The OpenAPI 3 document of the /api/v1 REST API, generated from the protos: `python -m server.openapi`.

Routes come from the `google.api.http` annotations of the services Envoy transcodes (server.app.SERVICES), schemas
from the message descriptors (as Envoy prints them: proto field names, int64 as strings, enums by name), and
descriptions from the proto comments (gen/indoxhub.pb keeps the source info). scripts/gen.sh writes it beside the
stubs, so the gen/ staleness check covers it too. Envoy serves it at /openapi.json and Swagger UI at /docs.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor, MethodDescriptor

from server.app import SERVICES

ROOT = Path(__file__).resolve().parents[1]
DESCRIPTOR_SET = ROOT / "gen" / "indoxhub.pb"
VERBS = ("get", "put", "post", "delete", "patch")

_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int32", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "int32", "minimum": 0},
    # Envoy prints 64-bit integers as JSON strings (and accepts both)
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}

_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {"description": "Any JSON value."},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"},
    "google.protobuf.DoubleValue": {"type": "number", "nullable": True},
    "google.protobuf.FloatValue": {"type": "number", "nullable": True},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32", "nullable": True},
    "google.protobuf.BoolValue": {"type": "boolean", "nullable": True},
    "google.protobuf.StringValue": {"type": "string", "nullable": True},
}

# google.api.HttpBody requests carry a raw body the server parses itself; their form fields are described here.
_FORMS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "indoxhub.v1.AudioService.CreateTranscription": (
        "multipart/form-data",
        {
            "file": {"type": "string", "format": "binary"},
            "model": {"type": "string", "example": "openai/whisper-1"},
            "provider": {"type": "string"},
            "language": {"type": "string"},
            "prompt": {"type": "string"},
            "response_format": {"type": "string"},
            "temperature": {"type": "number"},
            "byok_api_key": {"type": "string"},
        },
        ["file"],
    ),
    "indoxhub.v1.AuthService.ExchangeToken": (
        "application/x-www-form-urlencoded",
        {"username": {"type": "string"}, "password": {"type": "string"}},
        ["username", "password"],
    ),
}
_FORMS["indoxhub.v1.AudioService.CreateTranslation"] = _FORMS["indoxhub.v1.AudioService.CreateTranscription"]

_ERRORS = {
    "ValidationError": {
        "type": "object",
        "required": ["loc", "msg", "type"],
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
    },
    "HTTPValidationError": {
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}},
    },
    "Error": {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
}


def _message_comments(msgs, prefix: str, path: tuple, where: dict, out: dict[str, str]) -> None:
    for i, msg in enumerate(msgs):
        name, mpath = f"{prefix}.{msg.name}", (*path, i)
        out[name] = where.get(mpath, "")
        for j, fld in enumerate(msg.field):
            out[f"{name}.{fld.name}"] = where.get((*mpath, 2, j), "")
        _message_comments(msg.nested_type, name, (*mpath, 3), where, out)


def _comments(path: Path) -> dict[str, str]:
    """Leading comments by full name (messages, fields, enums, services, methods) from the descriptor set."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())
    out: dict[str, str] = {}
    for file in fds.file:
        where = {tuple(loc.path): loc.leading_comments.strip() for loc in file.source_code_info.location}
        _message_comments(file.message_type, file.package, (4,), where, out)
        for i, svc in enumerate(file.service):
            out[f"{file.package}.{svc.name}"] = where.get((6, i), "")
            for j, method in enumerate(svc.method):
                out[f"{file.package}.{svc.name}.{method.name}"] = where.get((6, i, 2, j), "")
    return {k: " ".join(v.split()) for k, v in out.items() if v}


class _Builder:
    def __init__(self, comments: dict[str, str]) -> None:
        self.comments = comments
        self.schemas: dict[str, Any] = dict(_ERRORS)

    def ref(self, desc: Descriptor | EnumDescriptor) -> dict[str, Any]:
        if desc.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[desc.full_name])
        name = desc.full_name.removeprefix("indoxhub.v1.").replace(".", "_")
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder: recursion stops here
            self.schemas[name] = self._enum(desc) if isinstance(desc, EnumDescriptor) else self.message(desc)
        return {"$ref": f"#/components/schemas/{name}"}

    def _enum(self, desc: EnumDescriptor) -> dict[str, Any]:
        schema = {"type": "string", "enum": [v.name for v in desc.values]}
        if text := self.comments.get(desc.full_name):
            schema["description"] = text
        return schema

    def message(self, desc: Descriptor, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
        props = {f.name: self.field(f) for f in desc.fields if f.name not in skip}
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if text := self.comments.get(desc.full_name):
            schema["description"] = text
        return schema

    def value(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            return self.ref(field.message_type)
        if field.type == FieldDescriptor.TYPE_ENUM:
            return self.ref(field.enum_type)
        return dict(_SCALARS[field.type])

    def field(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            schema: dict[str, Any] = {
                "type": "object",
                "additionalProperties": self.value(field.message_type.fields_by_name["value"]),
            }
        elif field.is_repeated:
            schema = {"type": "array", "items": self.value(field)}
        else:
            schema = self.value(field)
            if field.has_presence and field.type != FieldDescriptor.TYPE_MESSAGE:
                schema["nullable"] = True  # optional: JSON null means unset
        if text := self.comments.get(field.full_name):
            schema = {"allOf": [schema], "description": text} if "$ref" in schema else {**schema, "description": text}
        return schema


def _rule(method: MethodDescriptor) -> tuple[str, str, str] | None:
    rule = method.GetOptions().Extensions[annotations_pb2.http]
    for verb in VERBS:
        if path := getattr(rule, verb):
            return verb, path, rule.body
    return None


def _operation(builder: _Builder, method: MethodDescriptor, verb: str, template: str, body: str, auth: bool):
    path_fields = re.findall(r"{([a-z_0-9]+)(?:=[^}]*)?}", template)
    path = re.sub(r"{([a-z_0-9]+)=[^}]*}", r"{\1}", template)
    request = method.input_type
    op: dict[str, Any] = {
        "operationId": f"{method.containing_service.name}_{method.name}",
        "tags": [method.containing_service.name.removesuffix("Service")],
        "summary": method.name,
    }
    if text := builder.comments.get(method.full_name):
        op["description"] = text
    params = []
    for name in path_fields:
        fld = request.fields_by_name[name]
        params.append({"name": name, "in": "path", "required": True, "schema": builder.value(fld)})
    if request.full_name == "google.api.HttpBody":
        content_type, props, required = _FORMS[method.full_name]
        op["requestBody"] = {
            "required": True,
            "content": {content_type: {"schema": {"type": "object", "properties": props, "required": required}}},
        }
    elif body == "*":
        schema = builder.message(request, frozenset(path_fields))
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    elif request.full_name != "google.protobuf.Empty":
        for fld in request.fields:
            if fld.name in path_fields or fld.type == FieldDescriptor.TYPE_MESSAGE:
                continue
            param = {"name": fld.name, "in": "query", "required": False, "schema": builder.field(fld)}
            if fld.is_repeated:
                param.update(style="form", explode=True)
            params.append(param)
    if params:
        op["parameters"] = params
    if method.output_type.full_name == "google.api.HttpBody":
        ok = {
            "description": "JSON, or with `stream: true` server-sent events (`data: <event>`, then `data: [DONE]`)",
            "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {"schema": {}}},
        }
    else:
        ok = {"description": "OK", "content": {"application/json": {"schema": builder.ref(method.output_type)}}}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    op["responses"] = {
        "200": ok,
        "404": {"description": "Unknown id, provider or model", "content": error},
        "422": {
            "description": "Validation error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
        },
        "default": {"description": 'Error: `{"detail": ...}`', "content": error},
    }
    if auth:
        op["responses"]["401"] = {"description": "Missing, invalid, revoked or expired key", "content": error}
    else:
        op["security"] = []
    return path, op


def build(descriptor_set: Path = DESCRIPTOR_SET) -> dict[str, Any]:
    """The whole document, deterministic (sorted paths), for every REST route."""
    builder = _Builder(_comments(descriptor_set))
    paths: dict[str, dict[str, Any]] = {}
    for service in SERVICES:
        if not service.rest:
            continue
        for method in service.descriptor.methods:
            rule = _rule(method)
            if rule is None:
                continue  # gRPC-only (typed unary / streaming variants)
            verb, template, body = rule
            if not template.startswith("/api/v1/"):
                continue  # the OpenAI-compatible surface at /v1 follows OpenAI's own published document
            auth = getattr(getattr(service.servicer, method.name), "requires_auth", True)
            path, op = _operation(builder, method, verb, template, body, auth)
            paths.setdefault(path, {})[verb] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "IndoxHub gateway",
            "version": "0.2.0",
            "description": "One API in front of many AI providers. Generated from proto/indoxhub/v1 by "
            'server/openapi.py; errors are `{"detail": ...}` (422: the HTTPValidationError list).',
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(builder.schemas.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "ihk_... API key"}},
        },
        "security": [{"bearer": []}],
    }


def main() -> None:
    sys.stdout.write(json.dumps(build(), indent=1, sort_keys=False) + "\n")


if __name__ == "__main__":
    main()
