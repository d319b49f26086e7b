"""The catalog through the real Envoy + server: capability flags, current models, lifecycle and hints."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import bearer

FLAGS = ("supportsTools", "supportsVision", "supportsPdf", "supportsJsonSchema", "reasoningEfforts", "upstreamApi")


def test_models_endpoints_show_the_capability_flags(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    for provider in rest.get("/models", headers=bearer(key)).json():
        for entry in rest.get(f"/models/{provider['id']}/text_completions", headers=bearer(key)).json():
            assert all(flag in entry for flag in FLAGS), (provider["id"], entry["modelName"])
    sol = rest.get("/models/openai/gpt-5.6-sol", headers=bearer(key)).json()
    assert sol["upstreamApi"] == "responses" and sol["reasoningEfforts"] == ["low", "medium", "high"]
    assert sol["supportsTools"] is True and sol["supportsVision"] is True
    mini = rest.get("/models/openai/gpt-4o-mini", headers=bearer(key)).json()
    assert mini["upstreamApi"] == "chat_completions" and mini["reasoningEfforts"] == []
    pro = rest.get("/models/deepseek/deepseek-v4-pro", headers=bearer(key)).json()
    assert pro["supportsVision"] is False and pro["supportsJsonSchema"] is False
