"""Video generation jobs end to end: create, poll, complete, fail, cancel, list, restart, billing exactly once.

This module runs its own gateway: the worker polls every 0.2 s (HUB_VIDEO_POLL_SECONDS), and a test-only
catalog override (HUB_CATALOG_DIR) re-enables retired models that the shipped catalog marks disabled, so that
their wire formats are still exercised end to end: OpenAI's Sora (the Videos API shut down on 2026-09-24),
DALL-E 3 and Google's Imagen 4 (`:predict`).
"""

from __future__ import annotations

import base64
import json
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import bearer
from tests.e2e.test_auth_and_cli import run_official_client
from tests.e2e.test_chat import balance_nanos, ledger_sum, usage_rows
from tests.fakes.providers import fake_video_size
from tests.harness import ROOT, Gateway, fake_requests, start_gateway

SORA = "openai/sora-2"
VEO = "google/veo-3.1-fast-generate-preview"


@pytest.fixture(scope="module")
def vgw() -> Iterator[Gateway]:
    catalog_dir = Path(tempfile.mkdtemp(prefix="hub-catalog-"))
    shipped = json.loads((ROOT / "server" / "catalog" / "data" / "openai.json").read_text())

    def live(m: dict) -> dict:  # the override re-enables a retired model: no retirement date either
        return {k: v for k, v in m.items() if k not in ("retirement_date", "deprecation_date")}

    sora = [
        {
            **live(m),
            "is_disabled": False,
            "status": "active",
            "description": f"{m['description']} (re-enabled for tests)",
        }
        for m in shipped["video_generation"]
    ]
    dalle = [{**live(m), "is_disabled": False} for m in shipped["image_generation"] if m["modelName"] == "dall-e-3"]
    (catalog_dir / "openai.json").write_text(
        json.dumps({"id": "openai", "video_generation": sora, "image_generation": dalle})
    )
    google = json.loads((ROOT / "server" / "catalog" / "data" / "google.json").read_text())
    imagen = [
        {**live(m), "is_disabled": False} for m in google["image_generation"] if m["modelName"].startswith("imagen-4")
    ]
    (catalog_dir / "google.json").write_text(json.dumps({"id": "google", "image_generation": imagen}))
    gw = start_gateway(extra_env={"HUB_VIDEO_POLL_SECONDS": "0.2", "HUB_CATALOG_DIR": str(catalog_dir)})
    yield gw
    gw.close()


@pytest.fixture
def api(vgw: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=vgw.api, timeout=30) as client:
        yield client


@pytest.fixture
def user(vgw: Gateway) -> Callable[..., tuple[int, str]]:
    def make(credits: float = 10.0) -> tuple[int, str]:
        return vgw.create_user(f"v-{uuid.uuid4().hex[:10]}@example.com", credits)

    return make


def wait_for(check: Callable[[], object], timeout: float = 15.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


def create(api: httpx.Client, key: str, prompt: str, model: str = VEO, **fields) -> httpx.Response:
    return api.post("/videos/generations", headers=bearer(key), json={"prompt": prompt, "model": model, **fields})


def job(api: httpx.Client, key: str, job_id: str) -> dict:
    r = api.get(f"/videos/jobs/{job_id}", headers=bearer(key))
    assert r.status_code == 200, r.text
    return r.json()


def finished(api: httpx.Client, key: str, job_id: str, statuses: list | None = None) -> dict:
    def check():
        current = job(api, key, job_id)
        if statuses is not None:
            statuses.append((current["status"], current["progress"]))
        return current if current["status"] in ("completed", "failed", "cancelled") else None

    return wait_for(check)


def holds(gw: Gateway, request_id: str) -> int:
    db = sqlite3.connect(gw.workdir / "hub.db")
    try:
        return db.execute("SELECT count(*) FROM credit_holds WHERE request_id = ?", (request_id,)).fetchone()[0]
    finally:
        db.close()


def usage_ledger(gw: Gateway, user_id: int) -> list[tuple]:
    db = sqlite3.connect(gw.workdir / "hub.db")
    try:
        return db.execute(
            "SELECT request_id, amount_nanos FROM transactions WHERE user_id = ? AND transaction_type = 'usage'",
            (user_id,),
        ).fetchall()
    finally:
        db.close()


def test_sora_job_completes_and_is_billed_once(vgw: Gateway, api: httpx.Client, user) -> None:
    user_id, key = user()
    marker = f"sora-{uuid.uuid4().hex[:8]}"
    r = create(api, key, f"Waves {marker} [[slow:4]]", SORA, duration=8, size="1280x720", negative_prompt="rain")
    assert r.status_code == 200, r.text
    out = r.json()
    data = out["data"]
    assert data["is_async"] is True and data["status"] in ("queued", "processing") and data["job_id"]
    assert out["request_id"] == data["job_id"] and out["provider"] == "openai" and out["model"] == "sora-2"
    assert out["usage"]["cost"] == 0.8  # reserved: $0.10 a second x 8 s
    assert holds(vgw, data["job_id"]) == 1
    seen: list = []
    done = finished(api, key, data["job_id"], seen)
    assert done["status"] == "completed" and done["progress"] == 100 and done["is_async"] is True
    assert ("processing", 25) in seen or ("processing", 50) in seen, seen
    progress = [p for _, p in seen]
    assert progress == sorted(progress)
    result = done["result"]
    assert result["video_url"] == result["data"][0]["url"] and result["video_url"].endswith("/content")
    assert result["data"][0]["content_type"] == "video/mp4"
    assert result["data"][0]["file_size"] == fake_video_size(8)
    video = httpx.get(result["video_url"], headers={"Authorization": "Bearer sk-test-openai"})
    assert video.status_code == 200 and len(video.content) == fake_video_size(8)
    assert done["cost"] == 0.8 and done["completed_at"] and done["prompt"].startswith("Waves")
    [created] = [q for q in fake_requests(vgw) if q["method"] == "POST" and marker in json.dumps(q["body"])]
    assert created["path"] == "/v1/videos"
    assert created["body"] == {
        "model": "sora-2",
        "prompt": f"Waves {marker} [[slow:4]]",
        "seconds": "8",
        "size": "1280x720",
    }
    [row] = usage_rows(vgw, user_id)
    assert row["endpoint"] == "video" and row["status"] == "success" and row["cost_nanos"] == 800_000_000
    assert row["request_id"] == data["job_id"]
    assert usage_ledger(vgw, user_id) == [(data["job_id"], -800_000_000)]
    assert balance_nanos(vgw, user_id) == 9_200_000_000 == ledger_sum(vgw, user_id)
    assert holds(vgw, data["job_id"]) == 0


def test_veo_job_gets_google_fields_and_completes(vgw: Gateway, api: httpx.Client, user) -> None:
    user_id, key = user()
    marker = f"veo-{uuid.uuid4().hex[:8]}"
    image = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8fake-jpeg").decode()
    r = create(
        api,
        key,
        f"A hummingbird {marker}",
        VEO,
        duration=6,
        aspect_ratio="9:16",
        resolution="1080p",
        negative_prompt="blur",
        person_generation="allow_adult",
        input_image=image,
        size="1280x720",  # OpenAI's field: Google gets aspect_ratio instead
        generate_audio=True,
    )
    assert r.status_code == 200, r.text
    job_id = r.json()["data"]["job_id"]
    assert r.json()["usage"]["cost"] == 0.9  # $0.15 a second x 6 s
    done = finished(api, key, job_id)
    assert done["status"] == "completed" and done["cost"] == 0.9
    assert done["result"]["data"] == [
        {"url": done["result"]["video_url"], "content_type": "video/mp4", "file_size": fake_video_size(6)}
    ]
    [sent] = [q for q in fake_requests(vgw) if q["path"].endswith(":predictLongRunning") and marker in json.dumps(q)]
    assert sent["path"] == "/v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning"
    assert sent["headers"]["x-goog-api-key"] == "sk-test-google"
    assert sent["body"] == {
        "instances": [
            {
                "prompt": f"A hummingbird {marker}",
                "image": {"bytesBase64Encoded": image.split(",", 1)[1], "mimeType": "image/jpeg"},
            }
        ],
        "parameters": {
            "durationSeconds": 6,
            "aspectRatio": "9:16",
            "resolution": "1080p",
            "personGeneration": "allow_adult",
            "negativePrompt": "blur",
        },
    }
    polls = [q for q in fake_requests(vgw) if q["method"] == "GET" and q["path"].startswith("/v1beta/models/veo")]
    assert polls and all(q["headers"]["x-goog-api-key"] == "sk-test-google" for q in polls)
    [row] = usage_rows(vgw, user_id)
    assert row["status"] == "success" and row["cost_nanos"] == 900_000_000


def test_failed_job_releases_everything(vgw: Gateway, api: httpx.Client, user) -> None:
    user_id, key = user(credits=2)
    for model in (VEO, SORA):
        r = create(api, key, "doomed [[fail]]", model)
        assert r.status_code == 200, r.text
        done = finished(api, key, r.json()["data"]["job_id"])
        assert done["status"] == "failed" and done["error"] == "fake provider failure" and done["cost"] == 0
        assert "result" not in done and done["completed_at"]
    # Rejected at creation: the error is the answer, the job is recorded as failed.
    r = create(api, key, "rejected [[status:400]]", VEO)
    assert r.status_code == 400 and "google" in r.json()["detail"]
    jobs = api.get("/videos/jobs", headers=bearer(key)).json()["jobs"]
    assert [j["status"] for j in jobs] == ["failed", "failed", "failed"]
    rows = usage_rows(vgw, user_id)
    assert len(rows) == 3 and all(row["status"] == "error" and row["cost_nanos"] == 0 for row in rows)
    assert {row["endpoint"] for row in rows} == {"video"}
    assert balance_nanos(vgw, user_id) == 2_000_000_000 == ledger_sum(vgw, user_id)
    assert all(holds(vgw, j["job_id"]) == 0 for j in jobs)


def test_cancel_queued_or_processing_jobs_only(vgw: Gateway, api: httpx.Client, user) -> None:
    user_id, key = user()
    before = httpx.get(f"{vgw.fake_base}/__stats").json()["video_cancels"]
    ids = []
    for model in (VEO, SORA):
        r = create(api, key, "never ends [[slow:100000]]", model)
        assert r.status_code == 200, r.text
        ids.append(r.json()["data"]["job_id"])
    wait_for(lambda: job(api, key, ids[0])["status"] == "processing")
    for job_id in ids:
        r = api.post(f"/videos/jobs/{job_id}/cancel", headers=bearer(key))
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled" and r.json()["cost"] == 0 and r.json()["job_id"] == job_id
        assert job(api, key, job_id)["status"] == "cancelled"
        again = api.post(f"/videos/jobs/{job_id}/cancel", headers=bearer(key))
        assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    # Cancelled at the provider too: Veo's operation cancel, Sora's delete.
    assert httpx.get(f"{vgw.fake_base}/__stats").json()["video_cancels"] == before + 2
    sent = fake_requests(vgw)
    assert any(q["path"].endswith(":cancel") and q["method"] == "POST" for q in sent)
    assert any(q["method"] == "DELETE" and q["path"].startswith("/v1/videos/") for q in sent)
    time.sleep(0.5)  # the worker does not touch cancelled jobs
    assert {job(api, key, i)["status"] for i in ids} == {"cancelled"}
    rows = usage_rows(vgw, user_id)
    assert [(row["status"], row["cost_nanos"]) for row in rows] == [("stopped", 0), ("stopped", 0)]
    assert balance_nanos(vgw, user_id) == 10_000_000_000
    # A finished job cannot be cancelled.
    r = create(api, key, "quick [[slow:1]]", VEO, duration=4)
    done = finished(api, key, r.json()["data"]["job_id"])
    assert done["status"] == "completed"
    r = api.post(f"/videos/jobs/{done['job_id']}/cancel", headers=bearer(key))
    assert r.status_code == 409 and "already completed" in r.json()["detail"]
    assert api.post(f"/videos/jobs/{uuid.uuid4()}/cancel", headers=bearer(key)).status_code == 404


def test_jobs_are_private_and_paged_newest_first(vgw: Gateway, api: httpx.Client, user) -> None:
    _, key = user()
    _, other = user()
    ids = []
    for i in range(3):
        r = create(api, key, f"job {i} [[slow:100000]]", VEO, duration=4)
        assert r.status_code == 200, r.text
        ids.append(r.json()["data"]["job_id"])
    page = api.get("/videos/jobs?limit=2&skip=0", headers=bearer(key)).json()
    assert [j["job_id"] for j in page["jobs"]] == [ids[2], ids[1]]
    assert (page["total"], page["limit"], page["skip"], page["has_more"]) == (3, 2, 0, True)
    page = api.get("/videos/jobs?limit=2&skip=2", headers=bearer(key)).json()
    assert [j["job_id"] for j in page["jobs"]] == [ids[0]] and page["has_more"] is False
    page = api.get("/videos/jobs", headers=bearer(key)).json()
    assert page["limit"] == 20 and page["total"] == 3
    assert page["jobs"][0]["cost"] == 0.6  # reserved while running
    for query, loc in (("limit=0", "limit"), ("limit=101", "limit"), ("skip=-1", "skip")):
        r = api.get(f"/videos/jobs?{query}", headers=bearer(key))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", loc]
    # Another user's job does not exist for them.
    assert api.get(f"/videos/jobs/{ids[0]}", headers=bearer(other)).status_code == 404
    r = api.post(f"/videos/jobs/{ids[0]}/cancel", headers=bearer(other))
    assert r.status_code == 404 and "not found" in r.json()["detail"]
    assert api.get("/videos/jobs", headers=bearer(other)).json()["jobs"] == []
    assert job(api, key, ids[0])["status"] in ("queued", "processing")
    assert api.get(f"/videos/jobs/{ids[0]}").status_code == 401
    for job_id in ids:
        assert api.post(f"/videos/jobs/{job_id}/cancel", headers=bearer(key)).status_code == 200


def test_create_validation_credits_and_disabled_models(vgw: Gateway, api: httpx.Client, user) -> None:
    user_id, key = user(credits=1)
    for fields, field in (
        ({"model": VEO, "duration": 5}, "duration"),
        ({"model": VEO, "aspect_ratio": "1:1"}, "aspect_ratio"),
        ({"model": VEO, "input_image": "https://example.com/cat.png"}, "input_image"),
        ({"model": SORA, "n": 2}, "n"),
        ({"model": SORA, "size": "999x999"}, "size"),
        ({"model": SORA, "duration": 6}, "duration"),
        ({"model": VEO, "duration": 0}, "duration"),
    ):
        r = api.post("/videos/generations", headers=bearer(key), json={"prompt": "x", **fields})
        assert r.status_code == 422, (fields, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", field]
    r = api.post("/videos/generations", headers=bearer(key), json={"model": VEO})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "prompt"]
    r = create(api, key, "x", "google/veo-3.0-generate-001")
    assert r.status_code == 404 and r.json()["detail"].startswith(
        "Model 'google/veo-3.0-generate-001' is not available (disabled)"
    )
    marker = f"too-dear-{uuid.uuid4().hex[:6]}"
    r = create(api, key, marker, "google/veo-3.1-generate-preview")  # 8 s x $0.40 > $1
    assert r.status_code == 402 and "Insufficient credits" in r.json()["detail"]
    assert not [q for q in fake_requests(vgw) if marker in json.dumps(q["body"])]
    assert api.get("/videos/jobs", headers=bearer(key)).json()["total"] == 0
    assert usage_rows(vgw, user_id) == [] and balance_nanos(vgw, user_id) == 1_000_000_000
    r = api.post("/videos/generations", headers=bearer(key), json={"prompt": "default model [[slow:100000]]"})
    assert r.status_code == 402  # the default, google/veo-3.1-generate-preview, costs $3.20 for 8 s


def test_byok_job_uses_the_callers_key_and_costs_nothing(vgw: Gateway, api: httpx.Client, user) -> None:
    user_id, key = user(credits=1)
    marker = f"byok-{uuid.uuid4().hex[:8]}"
    r = create(api, key, f"{marker} [[slow:2]]", SORA, byok_api_key="sk-own-video-key")
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["cost"] == 0
    done = finished(api, key, r.json()["data"]["job_id"])
    assert done["status"] == "completed" and done["cost"] == 0
    sora_calls = [q for q in fake_requests(vgw) if done["result"]["video_url"].split("/")[-2] in q["path"]]
    assert sora_calls and all(q["headers"]["authorization"] == "Bearer sk-own-video-key" for q in sora_calls)
    [row] = usage_rows(vgw, user_id)
    assert row["byok"] == 1 and row["cost_nanos"] == 0 and row["status"] == "success"
    assert balance_nanos(vgw, user_id) == 1_000_000_000
    db = sqlite3.connect(vgw.workdir / "hub.db")
    try:
        assert "sk-own-video-key" not in "\n".join(db.iterdump())
    finally:
        db.close()


def test_restart_resumes_running_jobs_and_bills_once(vgw: Gateway, api: httpx.Client, user) -> None:
    user_id, key = user()
    r = create(api, key, "survives a restart [[slow:10]]", SORA, duration=4)
    assert r.status_code == 200, r.text
    job_id = r.json()["data"]["job_id"]
    vgw.stop_server()
    db = sqlite3.connect(vgw.workdir / "hub.db")
    try:
        status = db.execute("SELECT status FROM video_jobs WHERE id = ?", (job_id,)).fetchone()[0]
        assert status in ("queued", "processing")
        # An old hold: the restart's stale-hold release must leave a running video job's hold alone.
        db.execute("UPDATE credit_holds SET created_at = '2000-01-01 00:00:00.000000' WHERE request_id = ?", (job_id,))
        db.commit()
    finally:
        db.close()
    assert holds(vgw, job_id) == 1
    vgw.start_server()
    done = finished(api, key, job_id)
    assert done["status"] == "completed" and done["cost"] == 0.4
    [row] = usage_rows(vgw, user_id)
    assert row["request_id"] == job_id and row["cost_nanos"] == 400_000_000
    assert usage_ledger(vgw, user_id) == [(job_id, -400_000_000)]
    assert balance_nanos(vgw, user_id) == 9_600_000_000 == ledger_sum(vgw, user_id)
    assert holds(vgw, job_id) == 0


OFFICIAL_VIDEOS = r"""
import json, sys
from indoxhub import Client
client = Client(api_key=sys.argv[1], base_url=sys.argv[2])
out = {}
created = client.videos("an official cat [[slow:3]]", model="google/veo-3.1-fast-generate-preview", duration=4,
                        aspect_ratio="16:9", resolution="720p")
job_id = created["data"]["job_id"]
out["created"] = {k: created["data"][k] for k in ("is_async", "status")}
out["status"] = client.get_video_job_status(job_id)["status"]
seen = []
final = client.wait_for_video_job(job_id, check_interval=0.1, max_wait_time=30,
                                  callback=lambda s: seen.append(s["progress"]))
out["final"] = final["status"]
out["video_url"] = final["result"]["video_url"]
out["progress_seen"] = seen
doomed = client.videos("an official failure [[fail]]", model="openai/sora-2")
try:
    client.wait_for_video_job(doomed["data"]["job_id"], check_interval=0.1, max_wait_time=30)
except Exception as exc:
    out["failed"] = f"{type(exc).__name__}: {exc}"
slow = client.videos("an official cancel [[slow:100000]]", model="openai/sora-2")
cancelled = client.cancel_video_job(slow["data"]["job_id"])
out["cancelled"] = cancelled["status"]
listed = client.list_video_jobs(limit=2, skip=0)
out["listed"] = [j["status"] for j in listed["jobs"]]
out["total"] = listed["total"]
try:
    client.videos("x")  # the client's default model, google/veo-3.0-generate-001, is retired
except Exception as exc:
    out["default_model"] = type(exc).__name__
print(json.dumps(out))
"""


def test_official_client_videos(vgw: Gateway, user) -> None:
    user_id, key = user()
    done = run_official_client(vgw, OFFICIAL_VIDEOS, key)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["created"]["is_async"] is True and out["created"]["status"] in ("queued", "processing")
    assert out["status"] in ("queued", "processing", "completed")
    assert out["final"] == "completed" and ":download" in out["video_url"]
    assert out["progress_seen"][-1] == 100 and out["progress_seen"] == sorted(out["progress_seen"])
    assert out["failed"] == "APIError: Video generation failed: fake provider failure"
    assert out["cancelled"] == "cancelled"
    assert out["listed"] == ["cancelled", "failed"] and out["total"] == 3
    assert out["default_model"] == "ModelNotAvailableError"
    statuses = sorted(row["status"] for row in usage_rows(vgw, user_id))
    assert statuses == ["error", "stopped", "success"]


def test_reenabled_imagen_and_dall_e_image_formats(vgw: Gateway, api: httpx.Client, user) -> None:
    user_id, key = user()
    marker = f"imagen-{uuid.uuid4().hex[:8]}"
    r = api.post(
        "/images/generations",
        headers=bearer(key),
        json={
            "prompt": f"A {marker}",
            "model": "google/imagen-4.0-generate-001",
            "n": 2,
            "aspect_ratio": "3:4",
            "person_generation": "dont_allow",
            "output_mime_type": "image/jpeg",
            "size": "2K",  # Imagen's resolution; the shape is aspect_ratio
            "quality": "hd",  # OpenAI's field: not sent to Google
        },
    )
    assert r.status_code == 200, r.text
    assert [d["content_type"] for d in r.json()["data"]] == ["image/jpeg", "image/jpeg"]
    assert r.json()["usage"]["cost"] == 0.08  # $0.04 per image
    [sent] = [q for q in fake_requests(vgw) if q["path"].endswith(":predict") and marker in json.dumps(q["body"])]
    assert sent["path"] == "/v1beta/models/imagen-4.0-generate-001:predict"
    assert sent["body"] == {
        "instances": [{"prompt": f"A {marker}"}],
        "parameters": {
            "sampleCount": 2,
            "aspectRatio": "3:4",
            "sampleImageSize": "2K",
            "personGeneration": "dont_allow",
            "outputOptions": {"mimeType": "image/jpeg"},
        },
    }
    r = api.post(
        "/images/generations",
        headers=bearer(key),
        json={"prompt": "A dall-e cat", "model": "openai/dall-e-3", "quality": "hd", "style": "natural"},
    )
    assert r.status_code == 200, r.text
    [image] = r.json()["data"]
    assert image["url"].endswith(".png") and image["revised_prompt"] == "A detailed rendering of: A dall-e cat"
    assert r.json()["usage"]["cost"] == 0.08  # 1024x1024 (the default) in hd
    assert [row["cost_nanos"] for row in usage_rows(vgw, user_id)] == [80_000_000, 80_000_000]
