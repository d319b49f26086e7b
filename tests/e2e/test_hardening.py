"""Issue 13: one bad request never hurts another user, bad input is never a 5xx, limits and timeouts hold."""

from __future__ import annotations

import json
import re

import grpc
import httpx
import pytest
from indoxhub.v1 import admin_pb2, admin_pb2_grpc

from tests.e2e.bystanders import bystanders
from tests.e2e.conftest import bearer
from tests.harness import ROOT, Gateway


def test_huge_model_name_is_not_echoed_and_cuts_no_stream(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    huge = "x" * 100_000
    with bystanders(gateway, make_user, chunks=40, delay=0.05):
        for field in ("model", "provider"):
            for _ in range(3):
                body = {"messages": [{"role": "user", "content": "hi"}], "model": f"openai/{huge}"}
                if field == "provider":
                    body["model"] = f"{huge}/gpt-4o-mini"
                r = rest.post("/chat/completions", headers=bearer(key), json=body)
                assert r.status_code == 404, r.text[:300]
                assert len(r.content) < 1_000 and r.json()["detail"].endswith("...")


def _chat_body(**fields) -> dict:
    return {"messages": [{"role": "user", "content": "hi"}], "model": "openai/gpt-4o-mini", **fields}


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_bad_input_is_a_4xx_with_a_detail_never_a_5xx(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    auth = bearer(key)
    r = rest.post("/chat/completions", headers=auth, json=_chat_body(additional_params={"seed": 1e20}))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "additional_params", "seed"]
    content = [{"type": "text", "n": [1, -1e19]}]
    r = rest.post("/chat/completions", headers=auth, json={"messages": [{"role": "user", "content": content}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "messages", 0, "content", 0, "n", 1]
    for path in ("/videos/jobs/%ff%fe", "/models/%ff", "/models/openai/%c3%28"):
        r = rest.get(path, headers=auth)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"][0]["type"] == "string_unicode" and "Traceback" not in r.text
    for depth in (50, 80, 99):
        r = rest.post("/chat/completions", headers=auth, json=_chat_body(additional_params=_nested(depth)))
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid", r.text  # Envoy or server
    r = rest.post("/chat/completions", headers={**auth, "content-type": "application/grpc"}, content=b"{}")
    assert r.status_code == 415 and r.json()["detail"].startswith("Unsupported media type")
    r = rest.get("/user/me", headers={"Authorization": "Bearer " + "a" * 12_000})
    assert r.status_code == 401 and len(r.content) < 500
    for name, size in (("authorization", 20_000), ("x-padding", 20_000), ("x-padding", 100_000)):
        r = rest.get("/user/me", headers={**auth, name: "a" * size})
        assert r.status_code == 431 and r.json()["detail"] == "Request headers too large: the limit is 16 KB"
        assert "retry-after" not in r.headers
    # and the gateway is fine afterwards
    assert rest.get("/user/me", headers=auth).status_code == 200


def test_admin_service_is_never_open(gateway: Gateway) -> None:
    request = admin_pb2.CreateUserRequest(email="intruder@example.com", credits=1000)
    with grpc.insecure_channel(gateway.grpc_target) as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        for metadata in ((), (("authorization", "Bearer wrong"),), (("authorization", "Bearer ihk_" + "a" * 40),)):
            with pytest.raises(grpc.RpcError) as err:
                admin.CreateUser(request, metadata=metadata)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError):
            admin.AddCredits(admin_pb2.AddCreditsRequest(email="intruder@example.com", amount=5))
        assert admin.CreateUser(request, metadata=gateway.admin_auth).credits == 1000
    token = gateway.cli("admin-token")
    assert token.returncode == 0 and token.stdout.strip() == gateway.admin_auth[0][1].removeprefix("Bearer ")
    assert (gateway.workdir / "admin_token").stat().st_mode & 0o077 == 0


def test_openapi_document_and_swagger_ui_are_served_locally(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.base, timeout=30) as client:
        doc = client.get("/openapi.json")
        assert doc.status_code == 200 and doc.headers["content-type"] == "application/json"
        assert doc.json() == json.loads((ROOT / "gen" / "openapi.json").read_text())
        page = client.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "http" not in page.text.lower().replace('lang="en"', "")  # every asset is local: no CDN
        for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            r = client.get(asset)
            assert r.status_code == 200 and len(r.content) > 100, asset
        assert "/openapi.json" in client.get("/docs/init.js").text


def test_an_upstream_rate_limit_passes_its_retry_after_on(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    r = rest.post(
        "/chat/completions",
        headers=bearer(key),
        json=_chat_body(messages=[{"role": "user", "content": "x [[status:429]] [[retryafter:7]]"}]),
    )
    assert r.status_code == 429 and "openai" in r.json()["detail"] and r.headers["retry-after"] == "7"
