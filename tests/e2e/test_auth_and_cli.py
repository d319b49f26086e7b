"""Token exchange, the official client, the CLI and typed gRPC clients."""

from __future__ import annotations

import json
import subprocess
import sys

import grpc
import httpx
from google.protobuf import empty_pb2
from indoxhub.v1 import admin_pb2, admin_pb2_grpc, user_pb2, user_pb2_grpc

from tests.e2e.conftest import bearer
from tests.harness import ROOT, Gateway


def test_api_key_exchange_gives_a_working_bearer_token(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    r = rest.post("/auth/api-key", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    token = body["access_token"]
    assert key not in token
    assert rest.get("/user/me", headers=bearer(token)).status_code == 200
    assert rest.post("/auth/api-key", headers={"X-API-Key": key + "x"}).status_code == 401
    assert rest.post("/auth/api-key").status_code == 401


def test_form_token_exchange_accepts_key_as_password_or_username(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    for form in ({"username": "pip_client", "password": key}, {"username": key, "password": key}):
        r = rest.post("/auth/token", data=form)
        assert r.status_code == 200, r.text
        assert rest.get("/user/me", headers=bearer(r.json()["access_token"])).status_code == 200
    r = rest.post("/auth/token", data={"username": "pip_client", "password": "nope"})
    assert r.status_code == 401 and r.json()["detail"] == "Incorrect username or password"


def test_revoking_or_deleting_the_key_cuts_its_tokens_off(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    extra = rest.post("/user/api-keys", headers=bearer(key), json={"name": "t"}).json()
    token = rest.post("/auth/api-key", headers={"X-API-Key": extra["api_key"]}).json()["access_token"]
    assert rest.get("/user/me", headers=bearer(token)).status_code == 200
    rest.post(f"/user/api-keys/{extra['id']}/revoke", headers=bearer(key))
    assert rest.get("/user/me", headers=bearer(token)).status_code == 401
    rest.post(f"/user/api-keys/{extra['id']}/enable", headers=bearer(key))
    assert rest.get("/user/me", headers=bearer(token)).status_code == 200
    rest.delete(f"/user/api-keys/{extra['id']}", headers=bearer(key))
    assert rest.get("/user/me", headers=bearer(token)).status_code == 401
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert rest.get("/user/me", headers=bearer(forged)).status_code == 401


OFFICIAL_CLIENT = """
import json, sys
from indoxhub import Client
client = Client(api_key=sys.argv[1], base_url=sys.argv[2])
print(json.dumps(client.get_usage()))
"""


def run_official_client(gateway: Gateway, script: str, key: str) -> subprocess.CompletedProcess:
    """The official `indoxhub` package in its own interpreter (gen/ shares its top-level package name)."""
    return subprocess.run(
        [sys.executable, "-c", script, key, gateway.base],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
        cwd="/",
    )


def test_official_client_authenticates_and_reads_usage(gateway: Gateway, make_user) -> None:
    _, key = make_user(credits=7)
    done = run_official_client(gateway, OFFICIAL_CLIENT, key)
    assert done.returncode == 0, done.stderr
    usage = json.loads(done.stdout.strip().splitlines()[-1])
    assert usage["remaining_credits"] == 7 and usage["total_requests"] == 0
    bad = run_official_client(gateway, OFFICIAL_CLIENT, "ihk_wrong")
    assert bad.returncode != 0 and "Authentication failed" in bad.stderr


def test_cli_create_user_prints_json_key(gateway: Gateway, rest: httpx.Client) -> None:
    done = gateway.cli("create-user", "--email", "cli-user@example.com", "--credits", "2.5", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["user_id"] > 0 and result["api_key"].startswith("ihk_")
    me = rest.get("/user/me", headers=bearer(result["api_key"])).json()
    assert me["email"] == "cli-user@example.com" and me["credits"] == 2.5
    again = gateway.cli("create-user", "--email", "cli-user@example.com")
    assert again.returncode != 0 and "already exists" in again.stderr
    missing = gateway.cli("add-credits", "--email", "nobody@example.com", "--amount", "1")
    assert missing.returncode != 0 and "not found" in missing.stderr


def test_grpc_client_with_generated_stubs(gateway: Gateway) -> None:
    with grpc.insecure_channel(gateway.grpc_target) as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        made = admin.CreateUser(
            admin_pb2.CreateUserRequest(email="grpc-user@example.com", credits=4), metadata=gateway.admin_auth
        )
        users = user_pb2_grpc.UserServiceStub(channel)
        auth = (("authorization", f"Bearer {made.api_key}"),)
        me = users.GetCurrentUser(empty_pb2.Empty(), metadata=auth)
        assert me.id == made.user_id and me.credits == 4
        key = users.CreateApiKey(user_pb2.ApiKeyCreate(name="grpc"), metadata=auth)
        assert key.api_key.startswith("ihk_")
        listed = users.ListApiKeys(empty_pb2.Empty(), metadata=auth)
        assert len(listed.keys) == 2
        try:
            users.GetCurrentUser(empty_pb2.Empty())
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED
            assert dict(err.trailing_metadata())["x-hub-http-status"] == "401"
        else:
            raise AssertionError("expected UNAUTHENTICATED")
        credited = admin.AddCredits(
            admin_pb2.AddCreditsRequest(email="grpc-user@example.com", amount=1.5), metadata=gateway.admin_auth
        )
        assert credited.credits == 5.5


def test_server_reflection_and_health_are_served(gateway: Gateway) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    with grpc.insecure_channel(gateway.grpc_target) as channel:
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        replies = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = {s.name for reply in replies for s in reply.list_services_response.service}
        assert {"indoxhub.v1.ChatService", "indoxhub.v1.AdminService", "grpc.health.v1.Health"} <= names


def test_rest_cannot_reach_admin_service(gateway: Gateway) -> None:
    r = httpx.post(f"{gateway.base}/indoxhub.v1.AdminService/CreateUser", content=b"")
    assert r.status_code == 404


def test_large_body_limit(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    big = b'{"name": "' + b"x" * (27 * 1024 * 1024) + b'"}'
    r = rest.post("/user/api-keys", headers={**bearer(key), "Content-Type": "application/json"}, content=big)
    assert r.status_code == 413 and "25 MB" in r.json()["detail"]

    def chunks():  # no content-length: the gRPC server's message limit answers
        for _ in range(28):
            yield b"x" * (1024 * 1024)

    r = rest.post(
        "/audio/stt/transcriptions",
        headers={**bearer(key), "Content-Type": "multipart/form-data; boundary=zz"},
        content=chunks(),
    )
    assert r.status_code == 413 and "25 MB" in r.json()["detail"]


ROOT_IS_REPO = (ROOT / "proto").is_dir()
