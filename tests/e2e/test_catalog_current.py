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


def chat(rest: httpx.Client, key: str, model: str, text: str = "hi", **extra) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": text}], "model": model, **extra}
    return rest.post("/chat/completions", headers=bearer(key), json=body)


def test_the_models_endpoints_show_the_current_families_with_sources(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    openai = {m["modelName"]: m for m in rest.get("/models/openai/text_completions", headers=bearer(key)).json()}
    assert {"gpt-6-astra", "gpt-6.1-sol", "gpt-6-sol", "gpt-6-luna"} <= set(openai)
    assert openai["gpt-6-sol"]["priceTiers"] == [
        {"aboveInputTokens": 272000, "inputMultiplier": 2, "outputMultiplier": 1.5}
    ]
    assert openai["gpt-6-sol"]["cacheWritePricePer1MTokens"] == 2.5
    claude = {m["modelName"]: m for m in rest.get("/models/anthropic/text_completions", headers=bearer(key)).json()}
    assert {"claude-fable-5-1", "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"} <= set(claude)
    for provider in rest.get("/models", headers=bearer(key)).json():
        for category in ("text_completions", "embeddings", "image_generation", "video_generation"):
            for m in provider[category]:
                assert m["priceSource"] == "estimate" or m["priceSource"].startswith("https://"), m["modelName"]
                assert m["priceCheckedAt"] and m["status"] in ("active", "deprecated", "retired"), m["modelName"]


def test_deprecated_shows_its_dates_and_still_works_retired_is_refused(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    opus = rest.get("/models/anthropic/claude-opus-4-5", headers=bearer(key)).json()
    assert (opus["status"], opus["deprecation_date"], opus["retirement_date"]) == (
        "deprecated",
        "2026-11-23",
        "2027-01-22",
    )
    assert opus["replacement"] == "claude-opus-5-5" and opus["is_disabled"] is False
    assert chat(rest, key, "anthropic/claude-opus-4-5").status_code == 200
    r = chat(rest, key, "openai/gpt-4.1-nano")
    assert r.status_code == 404 and r.json()["detail"] == (
        "Model 'openai/gpt-4.1-nano' is not available (disabled): retired on 2026-10-23, use 'openai/gpt-4.1-mini'"
    )
    nano = rest.get("/models/openai/gpt-4.1-nano", headers=bearer(key)).json()
    assert nano["status"] == "retired" and nano["is_disabled"] is True


def test_unknown_models_get_the_closest_ids_or_where_they_are_served(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    r = chat(rest, key, "openai/gpt-6-sool")
    assert r.status_code == 404 and r.json()["detail"] == (
        "Model 'openai/gpt-6-sool' not found; closest known ids at openai: gpt-6-sol, gpt-6.1-sol, gpt-5.6-sol"
    )
    r = chat(rest, key, "openai/gpt-oss-120b")
    assert r.status_code == 404 and r.json()["detail"].endswith("; served as 'groq/openai/gpt-oss-120b'")
    r = chat(rest, key, "opneai/gpt-6-sol")
    assert r.status_code == 404 and r.json()["detail"] == "Provider 'opneai' not found; did you mean 'openai'?"
    r = chat(rest, key, "openai/gpt-5.6")  # an alias: resolved in the catalog, the real id goes upstream
    assert r.status_code == 200 and r.json()["model"] == "gpt-5.6-sol"


def test_a_tiered_and_cached_request_is_charged_exactly(rest: httpx.Client, make_user) -> None:
    """Claude Haiku 5.5: $0.10 in, $0.01 cached, $0.50 out; a prompt over 100,000 tokens pays 5x on all of it.
    The fake counts one token per word and reports [[cached:N]] as cache reads."""
    _, key = make_user(credits=5)
    at = chat(rest, key, "anthropic/claude-haiku-5-5", "[[cached:60000]] " + "w " * 99_999, max_tokens=50)
    over = chat(rest, key, "anthropic/claude-haiku-5-5", "[[cached:60000]] " + "w " * 100_000, max_tokens=50)
    for r, tokens, (plain, cached, out) in ((at, 100_000, (0.10, 0.01, 0.50)), (over, 100_001, (0.50, 0.05, 2.50))):
        assert r.status_code == 200, r.text
        usage = r.json()["usage"]
        assert usage["input_tokens"] == tokens and usage["input_tokens_details"]["cached_tokens"] == 60_000
        nanos = (tokens - 60_000) * plain * 1000 + 60_000 * cached * 1000 + usage["output_tokens"] * out * 1000
        assert round(usage["cost"] * 1e9) == round(nanos), (tokens, usage)
