"""server/errors.py: the one mapping from errors to statuses and bodies, and its bounds on echoed input."""

from __future__ import annotations

import json

import grpc

from server import errors
from server.errors import (
    InsufficientCredits,
    NotFound,
    RateLimited,
    UpstreamError,
    ValidationFailed,
    sse_error_event,
    to_grpc,
)


def trailers(err: BaseException, style: errors.Style = "hub") -> tuple[grpc.StatusCode, str, dict[str, str]]:
    code, message, metadata = to_grpc(err, style)
    return code, message, dict(metadata)


def test_the_whole_body_travels_in_the_trailers() -> None:
    code, message, meta = trailers(NotFound("Model 'x' not found"))
    assert code == grpc.StatusCode.NOT_FOUND and message == "Model 'x' not found"
    assert meta["x-hub-http-status"] == "404"
    assert json.loads(meta["x-hub-body"]) == {"detail": "Model 'x' not found"}
    assert json.loads(meta["x-hub-detail"]) == "Model 'x' not found"
    assert "x-hub-retry-after" not in meta


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    _, _, meta = trailers(UpstreamError("openai", 429, "rate limited"))
    assert meta["x-hub-retry-after"] == "1"  # the provider did not say: one second
    _, _, meta = trailers(RateLimited("slow down", retry_after=2.1))
    assert meta["x-hub-http-status"] == "429" and meta["x-hub-retry-after"] == "3"
    _, _, meta = trailers(UpstreamError("openai", 429, "rate limited", retry_after=7))
    assert meta["x-hub-retry-after"] == "7"


def test_nothing_a_caller_sent_is_echoed_unbounded() -> None:
    huge = "m" * 100_000 + "\r\nx-injected: 1\x00"
    _, message, meta = trailers(NotFound(f"Model '{huge}' not found"))
    assert sum(len(k) + len(v) for k, v in meta.items()) < 4_000
    assert len(message) <= errors.MAX_TEXT
    detail = json.loads(meta["x-hub-body"])["detail"]
    assert detail.endswith("...") and "\r" not in detail and "\n" not in detail and "\x00" not in detail
    many = ValidationFailed([{"loc": ["body", "x" * 5000, i], "msg": "y" * 5000, "type": "t"} for i in range(1000)])
    _, message, meta = trailers(many)
    body = json.loads(meta["x-hub-body"])["detail"]
    assert len(body) == errors.MAX_ITEMS and len(meta["x-hub-body"]) < 20_000 and len(message) < 700
    assert body[0]["msg"] == "y" * (errors.MAX_TEXT - 3) + "..."


def test_non_ascii_and_lone_surrogates_are_safe_in_headers() -> None:
    _, message, meta = trailers(NotFound("Modèle '\udcff\udcfe' 模型"))
    meta["x-hub-body"].encode("ascii")
    assert json.loads(meta["x-hub-body"])["detail"] == "Modèle '??' 模型"
    message.encode("utf-8")


def test_unknown_exceptions_show_no_internals() -> None:
    code, message, meta = trailers(RuntimeError("secret path /srv/db.sqlite"))
    assert code == grpc.StatusCode.INTERNAL and message == "Internal server error"
    assert meta["x-hub-http-status"] == "500" and "secret" not in meta["x-hub-body"]
    assert sse_error_event(KeyError("x"))["error"] == {
        "message": "Internal server error",
        "type": "HubError",
        "code": 500,
    }


def test_openai_style_bodies_and_statuses() -> None:
    invalid = ValidationFailed.single(["body", "messages", 0, "role"], "Unknown role 'x'", "literal_error")
    _, _, meta = trailers(invalid, "openai")
    assert meta["x-hub-http-status"] == "400"
    assert json.loads(meta["x-hub-body"]) == {
        "error": {
            "message": "Validation error: messages.0.role: Unknown role 'x'",
            "type": "invalid_request_error",
            "param": "messages.0.role",
            "code": "invalid_value",
        }
    }
    _, _, meta = trailers(InsufficientCredits(), "openai")
    assert meta["x-hub-http-status"] == "402"
    assert json.loads(meta["x-hub-body"])["error"]["code"] == "insufficient_quota"
    _, _, meta = trailers(errors.Unauthorized("Invalid API key"), "openai")
    assert meta["x-hub-http-status"] == "401"
    assert json.loads(meta["x-hub-body"])["error"]["type"] == "authentication_error"
    upstream = UpstreamError("anthropic", 502, "HTTP 500: overloaded")
    event = sse_error_event(upstream, "openai")
    assert event["error"]["type"] == "server_error" and "anthropic" in event["error"]["message"]
    assert sse_error_event(upstream)["error"]["provider"] == "anthropic"


def test_body_size_message_follows_the_setting() -> None:
    assert errors.body_too_large_message(25 * 1024 * 1024) == "Request body too large: the limit is 25 MB"
    assert errors.body_too_large_message(512 * 1024) == "Request body too large: the limit is 0.5 MB"
