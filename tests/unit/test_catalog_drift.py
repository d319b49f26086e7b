"""The drift check's parts: reading each list-models format, comparing with the catalog, writing entries.

The listing calls go to the real fake providers (in this process, on loopback), which page their lists."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from server.catalog import CatalogError, drift, load_catalog
from server.catalog.catalog import Catalog
from server.errors import NotFound
from server.providers import registry
from tests.fakes.providers import LIST_PAGE_CAP, LISTED_MODELS, FakeProviders

TODAY = dt.date(2026, 12, 1)


def test_openai_listing_skips_the_accounts_fine_tunes():
    body = {"object": "list", "data": [{"id": "gpt-6-sol"}, {"id": "ft:gpt-4o-mini:acme::1"}, {"id": "tts-2"}, {}]}
    listed = drift.parse_openai(body)
    assert [(m.id, m.category) for m in listed] == [("gpt-6-sol", "text_completions"), ("tts-2", "text_to_speech")]
    with pytest.raises(ValueError):
        drift.parse_openai({"models": []})


def test_anthropic_and_gemini_pages_give_limits_and_the_next_cursor():
    page = {
        "data": [{"id": "claude-x", "display_name": "Claude X", "max_input_tokens": 1_000_000, "max_tokens": 128_000}],
        "has_more": True,
        "last_id": "claude-x",
    }
    listed, cursor = drift.parse_anthropic(page)
    assert (
        listed == [drift.Listed("claude-x", "Claude X", "text_completions", 1_000_000, 128_000)]
        and cursor == "claude-x"
    )
    assert drift.parse_anthropic({**page, "has_more": False})[1] is None
    gemini = {
        "models": [
            {"name": "models/gemini-9", "supportedGenerationMethods": ["generateContent"], "inputTokenLimit": 5},
            {"name": "models/gemini-embedding-9", "supportedGenerationMethods": ["embedContent"]},
            {"name": "models/veo-9", "supportedGenerationMethods": ["predictLongRunning"]},
        ],
        "nextPageToken": "abc",
    }
    listed, token = drift.parse_gemini(gemini)
    assert [(m.id, m.category, m.context_window) for m in listed] == [
        ("gemini-9", "text_completions", 5),
        ("gemini-embedding-9", "embeddings", None),
        ("veo-9", "video_generation", None),
    ]
    assert token == "abc" and drift.parse_gemini({"models": []})[1] is None


@pytest.mark.parametrize(
    ("model_id", "category"),
    [
        ("text-embedding-4", "embeddings"),
        ("gpt-5-tts", "text_to_speech"),
        ("whisper-large-v4", "speech_to_text"),
        ("gpt-transcribe", "speech_to_text"),
        ("sora-3", "video_generation"),
        ("gpt-image-3", "image_generation"),
        ("gpt-6.2-sol", "text_completions"),
    ],
)
def test_category_guess_by_id(model_id, category):
    assert drift.category_of(model_id) == category


def _catalog() -> Catalog:
    flags = {
        "supportsTools": True,
        "supportsVision": False,
        "supportsPdf": False,
        "supportsJsonSchema": False,
        "reasoningEfforts": [],
        "upstreamApi": "chat_completions",
    }
    text = {"contextWindow": 1000, "inputPricePer1MTokens": 1, "outputPricePer1MTokens": 1, **flags}
    return Catalog.from_providers(
        [
            {
                "id": "openai",
                "text_completions": [
                    {"modelName": "a-1", "aliases": ["a"], **text},
                    {"modelName": "b-1", **text},
                    {"modelName": "old", "retirement_date": "2026-01-01", **text},
                    {"modelName": "off", "is_disabled": True, **text},
                ],
                "embeddings": [{"modelName": "e-1", "contextWindow": 10, "inputPricePer1MTokens": 1}],
            }
        ],
        today=lambda: TODAY,
    )


def test_compare_reports_both_ways_and_ignores_retired_and_disabled_models():
    listed = [drift.Listed("a"), drift.Listed("e-1"), drift.Listed("new-1"), drift.Listed("new-1")]
    result = drift.compare(_catalog(), "openai", listed, TODAY)
    assert [m.id for m in result.missing] == ["new-1"]  # "a" is a-1's alias: known
    assert result.unlisted == ["b-1"]  # "old" is retired and "off" disabled: expected to be gone
    unknown = drift.compare(_catalog(), "local", [drift.Listed("llama")], TODAY)
    assert [m.id for m in unknown.missing] == ["llama"] and unknown.unlisted == []


def test_the_table_names_provider_change_and_model():
    results = [
        drift.Drift("openai", missing=[drift.Listed("gpt-7", category="text_completions")], unlisted=["gpt-4o"]),
        drift.Drift("groq", error="groq: HTTP 401 from http://x/models: bad key"),
        drift.Drift("xai", skipped="no operator key (set XAI_API_KEY)"),
        drift.Drift("mistral"),
    ]
    lines = drift.table(results).splitlines()
    assert lines[0].split() == ["PROVIDER", "CHANGE", "MODEL", "NOTE"]
    assert lines[1].split()[:5] == ["openai", "missing", "from", "catalog", "gpt-7"]
    assert lines[2].split()[:5] == ["openai", "no", "longer", "listed", "gpt-4o"]
    assert lines[3:] == [
        "error    groq: HTTP 401 from http://x/models: bad key",
        "skipped  xai: no operator key (set XAI_API_KEY)",
        "ok       mistral",
    ]
    assert drift.table([drift.Drift("openai")]).startswith("no drift")


def test_written_entries_are_disabled_unpriced_and_load(tmp_path):
    found = drift.Drift(
        "openai",
        missing=[
            drift.Listed("gpt-7", "GPT-7", "text_completions", 2_000_000, 256_000),
            drift.Listed("text-embedding-4", category="embeddings"),
            drift.Listed("sora-3", category="video_generation"),
        ],
    )
    path, added = drift.write_missing(tmp_path, found, TODAY)
    assert path == tmp_path / "openai.json" and added == 3
    data = json.loads(path.read_text())
    gpt7 = data["text_completions"][0]
    assert gpt7["is_disabled"] is True and "inputPricePer1MTokens" not in gpt7
    assert (gpt7["contextWindow"], gpt7["maxOutputTokens"], gpt7["supportsTools"]) == (2_000_000, 256_000, False)
    catalog = load_catalog(str(tmp_path), today=lambda: TODAY)
    assert catalog.model("openai", "gpt-7")["is_disabled"] is True
    with pytest.raises(NotFound, match=r"not available \(disabled\)$"):
        catalog.resolve("openai", "gpt-7", "text_completions")
    assert catalog.model("openai", "gpt-4o-mini")["inputPricePer1MTokens"] == 0.15  # the rest is untouched

    # The operator prices one; a second check adds nothing twice and keeps the edit.
    gpt7.update({"inputPricePer1MTokens": 3, "outputPricePer1MTokens": 12})
    del gpt7["is_disabled"]
    path.write_text(json.dumps(data))
    _, added = drift.write_missing(tmp_path, found, TODAY)
    assert added == 0
    priced = load_catalog(str(tmp_path), today=lambda: TODAY).resolve("openai", "gpt-7", "text_completions")
    assert priced["inputPricePer1MTokens"] == 3


def test_a_written_entry_clashing_with_the_catalog_is_refused_at_load(tmp_path):
    (tmp_path / "openai.json").write_text(
        json.dumps({"text_completions": [{"modelName": "x", "aliases": ["gpt-4o"], "is_disabled": True}]})
    )
    with pytest.raises(CatalogError, match="already used by model 'gpt-4o'"):
        load_catalog(str(tmp_path))


async def test_listing_each_wire_format_from_the_fakes_follows_every_page():
    async with FakeProviders() as fake, httpx.AsyncClient(timeout=5) as client:
        env = fake.env()
        for pid, expected in (("openai", LISTED_MODELS["openai"]), ("anthropic", LISTED_MODELS["anthropic"])):
            config = registry.provider_config(pid, env)
            listed = await drift.list_models(client, config, config.api_key)
            assert [m.id for m in listed] == [i for i in expected if not i.startswith("ft:")], pid
        google = registry.provider_config("google", env)
        listed = await drift.list_models(client, google, google.api_key)
        assert [m.id for m in listed] == LISTED_MODELS["google"]
        assert {m.id: m.category for m in listed}["gemini-embedding-2"] == "embeddings"
        calls = [r for r in fake.requests if r["method"] == "GET" and "/models" in r["path"]]
        pages = -(-len(LISTED_MODELS["anthropic"]) // LIST_PAGE_CAP)
        anthropic_calls = [r for r in calls if r["path"].startswith("/anthropic/")]
        assert len(anthropic_calls) == pages > 1
        assert anthropic_calls[0]["headers"]["x-api-key"] == "fake-key-anthropic"
        assert anthropic_calls[0]["headers"]["anthropic-version"]
        assert "after_id=" in anthropic_calls[1]["path"]
        assert all(r["headers"]["x-goog-api-key"] == "fake-key-google" for r in calls if "/v1beta/" in r["path"])


async def test_a_failing_or_unconfigured_provider_is_reported_not_fatal():
    async with FakeProviders() as fake:
        env = fake.env()
        env["GROQ_BASE_URL"] = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
        env.pop("XAI_API_KEY")
        env["LOCAL_API_KEY"] = ""
        results = await drift.check(load_catalog(None), ["openai", "groq", "xai", "local"], env=env, today=TODAY)
    by = {d.provider: d for d in results}
    assert "gpt-6.2-sol" in [m.id for m in by["openai"].missing]
    assert by["groq"].error.startswith("groq: cannot reach http://127.0.0.1:9/v1/models")
    assert by["xai"].skipped == "no operator key (set XAI_API_KEY)"
    assert by["local"].skipped == "no operator key (set LOCAL_API_KEY)"
