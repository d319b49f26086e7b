"""The OpenAPI document is generated from the protos, covers every /api/v1 route and is committed fresh."""

from __future__ import annotations

import json

from google.api import annotations_pb2

from server import openapi
from server.app import SERVICES


def _rest_routes() -> set[tuple[str, str]]:
    routes = set()
    for service in SERVICES:
        for method in service.descriptor.methods:
            rule = method.GetOptions().Extensions[annotations_pb2.http]
            for verb in openapi.VERBS:
                path = getattr(rule, verb)
                if path.startswith("/api/v1/"):
                    routes.add((verb, path.replace("=**", "")))
    return routes


def test_every_rest_route_is_documented_and_the_committed_document_is_fresh() -> None:
    doc = openapi.build()
    documented = {(verb, path) for path, ops in doc["paths"].items() for verb in ops}
    assert documented == _rest_routes() and len(documented) >= 38
    committed = json.loads((openapi.ROOT / "gen" / "openapi.json").read_text())
    assert committed == doc, "gen/openapi.json is stale: run make gen"


def test_schemas_follow_envoys_json_and_the_error_contract() -> None:
    doc = openapi.build()
    chat = doc["paths"]["/api/v1/chat/completions"]["post"]
    body = chat["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert body["temperature"]["nullable"] is True and body["messages"]["type"] == "array"
    assert body["additional_params"]["type"] == "object" and "description" in body["model"]
    assert chat["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("HTTPValidationError")
    assert "401" in chat["responses"] and "security" not in chat
    health = doc["paths"]["/api/v1/user/health"]["get"]
    assert health["security"] == [] and "401" not in health["responses"]
    job = doc["paths"]["/api/v1/videos/jobs/{job_id}"]["get"]
    assert job["parameters"][0] == {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    upload = doc["paths"]["/api/v1/audio/stt/transcriptions"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
