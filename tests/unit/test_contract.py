"""The contract itself: every documented endpoint has an RPC with its REST binding, and every service, RPC,
message and field of indoxhub.v1 carries a comment."""

from __future__ import annotations

from pathlib import Path

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

DESCRIPTOR_SET = Path(__file__).resolve().parents[2] / "gen" / "indoxhub.pb"

# The 36 endpoints of the IndoxHub API v0.2.0 reference (paths under /api/v1).
DOCUMENTED = {
    ("GET", "/analytics/usage"),
    ("GET", "/analytics/sessions"),
    ("GET", "/analytics/models"),
    ("POST", "/audio/tts/generations"),
    ("POST", "/audio/stt/transcriptions"),
    ("POST", "/audio/stt/translations"),
    ("POST", "/chat/completions"),
    ("POST", "/chat/stop-stream/{stream_id}"),
    ("POST", "/completions"),
    ("POST", "/completions/stop-stream/{stream_id}"),
    ("POST", "/embeddings"),
    ("POST", "/images/generations"),
    ("GET", "/models"),
    ("GET", "/models/trending"),
    ("GET", "/models/{provider_id}"),
    ("GET", "/models/{provider_id}/text_completions"),
    ("GET", "/models/{provider_id}/embeddings"),
    ("GET", "/models/{provider_id}/image_generation"),
    ("GET", "/models/{provider_id}/text_to_speech"),
    ("GET", "/models/{provider_id}/speech_to_text"),
    ("GET", "/models/{provider_id}/video_generation"),
    ("GET", "/models/{provider_id}/{model_id=**}"),
    ("GET", "/user/health"),
    ("GET", "/user/me"),
    ("GET", "/user/transactions"),
    ("POST", "/user/api-keys"),
    ("GET", "/user/api-keys"),
    ("DELETE", "/user/api-keys/{api_key_id}"),
    ("GET", "/user/usage"),
    ("POST", "/user/api-keys/{api_key_id}/revoke"),
    ("POST", "/user/api-keys/{api_key_id}/enable"),
    ("DELETE", "/user/account"),
    ("POST", "/videos/generations"),
    ("GET", "/videos/jobs/{job_id}"),
    ("GET", "/videos/jobs"),
    ("POST", "/videos/jobs/{job_id}/cancel"),
}
TOKEN_EXCHANGE = {("POST", "/auth/api-key"), ("POST", "/auth/token")}
KEY_LIMITS = {("PATCH", "/user/api-keys/{api_key_id}")}  # issue 11: changing a key's limits
# The OpenAI-compatible surface (proto/indoxhub/v1/openai.proto), outside /api/v1.
OPENAI = {
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/responses"),
    ("POST", "/v1/embeddings"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{model=**}"),
    ("POST", "/v1/images/generations"),
    ("POST", "/v1/audio/speech"),
    ("POST", "/v1/audio/transcriptions"),
    ("POST", "/v1/audio/translations"),
}

# Field numbers of FileDescriptorProto / DescriptorProto / ServiceDescriptorProto used in source-info paths.
MESSAGE, SERVICE, FIELD, METHOD, NESTED = 4, 6, 2, 2, 3


def _files() -> list[descriptor_pb2.FileDescriptorProto]:
    fds = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    return [f for f in fds.file if f.package == "indoxhub.v1"]


def _bindings() -> set[tuple[str, str]]:
    found = set()
    for file in _files():
        for service in file.service:
            for method in service.method:
                rule = method.options.Extensions[annotations_pb2.http]
                for verb in ("get", "post", "put", "delete", "patch"):
                    path = getattr(rule, verb)
                    if path:
                        found.add((verb.upper(), path.removeprefix("/api/v1")))
    return found


def test_every_documented_endpoint_has_an_rpc_with_its_rest_binding() -> None:
    bindings = _bindings()
    assert len(DOCUMENTED) == 36
    assert DOCUMENTED - bindings == set()
    assert bindings - DOCUMENTED == TOKEN_EXCHANGE | KEY_LIMITS | OPENAI


def _commented_paths(file: descriptor_pb2.FileDescriptorProto) -> set[tuple[int, ...]]:
    return {tuple(loc.path) for loc in file.source_code_info.location if loc.leading_comments.strip()}


def _uncommented(
    message: descriptor_pb2.DescriptorProto, path: tuple[int, ...], name: str, commented: set[tuple[int, ...]]
) -> list[str]:
    missing = [] if path in commented else [name]
    for f, field in enumerate(message.field):
        if (*path, FIELD, f) not in commented:
            missing.append(f"{name}.{field.name}")
    for n, nested in enumerate(message.nested_type):
        if not nested.options.map_entry:
            missing += _uncommented(nested, (*path, NESTED, n), f"{name}.{nested.name}", commented)
    return missing


def test_every_service_rpc_message_and_field_has_a_comment() -> None:
    missing = []
    for file in _files():
        commented = _commented_paths(file)
        for s, service in enumerate(file.service):
            if (SERVICE, s) not in commented:
                missing.append(service.name)
            for m, method in enumerate(service.method):
                if (SERVICE, s, METHOD, m) not in commented:
                    missing.append(f"{service.name}.{method.name}")

        for i, message in enumerate(file.message_type):
            missing += _uncommented(message, (MESSAGE, i), message.name, commented)
    assert missing == []
