"""The model catalog (shipped JSON + HUB_CATALOG_DIR overrides) and the nano-USD pricing arithmetic."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from server.catalog import (
    CATEGORIES,
    Catalog,
    CatalogError,
    PricingError,
    characters_cost_nanos,
    image_cost_nanos,
    load_catalog,
    max_token_cost_nanos,
    minutes_cost_nanos,
    model_keys,
    nanos_to_usd,
    price_tier,
    seconds_cost_nanos,
    split_model_ref,
    token_cost_nanos,
    usd_to_nanos,
)
from server.errors import NotFound
from server.providers import registry

# every registry provider with a public endpoint ships a catalog file (`local` is configured by the operator)
SHIPPED_PROVIDERS = {pid for pid, spec in registry.PROVIDERS.items() if spec.default_base_url}
STATUSES = {"active", "deprecated", "retired"}


CHECKED = dt.date(2026, 12, 1)  # the day the shipped catalog was checked: lifecycle is judged as of then


def on(day: dt.date):
    return lambda: day


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(None, today=on(CHECKED))


def all_models(catalog: Catalog):
    for p in catalog.providers():
        for category in CATEGORIES:
            for entry in p[category]:
                yield p["id"], category, entry


NOT_PRICES = {"priceSource", "pricingNote", "priceCheckedAt", "aboveInputTokens", "effectiveFrom"}


def price_fields(value, path=""):
    """Every (path, value) of a price field, nested price tables (imagePrices, longContextPricing...) included."""
    for k, v in value.items():
        if k in NOT_PRICES:
            continue
        sub = f"{path}.{k}" if path else k
        if isinstance(v, list) and "price" in k.lower():  # priceTiers, priceChanges
            for i, item in enumerate(v):
                yield from price_fields(item, f"{sub}[{i}]")
        elif isinstance(v, dict):
            if path or "price" in k.lower():
                yield from price_fields(v, sub)
        elif path or "price" in k.lower():
            yield sub, v


# ----- shipped data ----------------------------------------------------------------------------------


def test_shipped_catalog_loads_every_provider(catalog):
    assert set(catalog.provider_ids()) == SHIPPED_PROVIDERS
    assert [p["id"] for p in catalog.providers()] == catalog.provider_ids()  # stable order
    assert "local" not in catalog.provider_ids()


def test_every_provider_has_its_fields_and_all_six_categories(catalog):
    for p in catalog.providers():
        for field in ("id", "name", "description", "website"):
            assert isinstance(p[field], str) and p[field], (p["id"], field)
        for category in CATEGORIES:
            assert isinstance(p[category], list), (p["id"], category)


def test_every_model_has_the_required_fields(catalog):
    for pid, category, e in all_models(catalog):
        where = f"{pid}/{e.get('modelName')}"
        for field in ("modelName", "name", "description"):
            assert isinstance(e.get(field), str) and e[field], (where, field)
        assert e["type"] == category, where
        assert isinstance(e["is_disabled"], bool), where
        assert e["status"] in STATUSES, where
        assert e["is_disabled"] == (e["status"] == "retired"), where
        source = e.get("priceSource")
        assert source == "estimate" or source.startswith("https://"), where  # the page, or a marked estimate
        assert dt.date.fromisoformat(e["priceCheckedAt"]) <= CHECKED, where
        if category == "text_completions":
            assert isinstance(e["contextWindow"], int) and e["contextWindow"] > 0, where
            assert "maxOutputTokens" not in e or e["maxOutputTokens"] > 0, where
            assert e["inputPricePer1MTokens"] is not None and e["outputPricePer1MTokens"] is not None, where
        elif category == "embeddings":
            assert isinstance(e["contextWindow"], int) and e["inputPricePer1MTokens"] is not None, where
        elif category == "image_generation":
            assert "pricePerImage" in e or "imagePrices" in e, where
        elif category == "text_to_speech":
            assert "pricePer1MCharacters" in e, where
        elif category == "speech_to_text":
            assert "pricePerMinute" in e or "pricePerHour" in e, where
        else:
            assert "pricePerSecond" in e, where


def test_every_price_is_a_non_negative_number(catalog):
    count = 0
    for pid, _category, e in all_models(catalog):
        for path, value in price_fields(e):
            count += 1
            assert isinstance(value, int | float) and not isinstance(value, bool), (pid, e["modelName"], path)
            assert value >= 0 and math.isfinite(value), (pid, e["modelName"], path)
    assert count > 100


def test_every_shipped_model_can_be_priced(catalog):
    """The pricing functions accept every entry of their category: no catalog gap bills usage as free."""
    for pid, category, e in all_models(catalog):
        if category == "text_completions":
            cost = token_cost_nanos(e, 1000, 500, 100)
        elif category == "embeddings":
            cost = token_cost_nanos(e, 1000, 0)
        elif category == "image_generation":
            cost = image_cost_nanos(e, 1, None, None)
        elif category == "text_to_speech":
            cost = characters_cost_nanos(e, 1000)
        elif category == "speech_to_text":
            cost = minutes_cost_nanos(e, 60)
        else:
            cost = seconds_cost_nanos(e, 8)
        assert cost > 0 or e["inputPricePer1MTokens"] == 0, (pid, e["modelName"])


def test_model_names_and_aliases_are_unique_per_provider_and_category(catalog):
    for p in catalog.providers():
        for category in CATEGORIES:
            keys = [k for e in p[category] for k in model_keys(e)]
            assert len(keys) == len(set(keys)), (p["id"], category)


REQUIRED = {
    "openai": {
        "text_completions": [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "o3-mini",
            "o4-mini",
            "gpt-3.5-turbo-instruct",
        ],
        "embeddings": ["text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"],
        "image_generation": ["dall-e-3", "dall-e-2", "gpt-image-1"],
        "text_to_speech": ["tts-1", "tts-1-hd", "gpt-4o-mini-tts"],
        "speech_to_text": ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"],
        "video_generation": ["sora-2", "sora-2-pro"],
    },
    "anthropic": {
        "text_completions": [
            "claude-3-5-haiku-latest",
            "claude-3-7-sonnet-latest",
            "claude-sonnet-4-0",
            "claude-opus-4-1",
            "claude-haiku-4-5",
            "claude-sonnet-4-5",
            "claude-sonnet-4-5-20250929",
        ],
    },
    "google": {
        "text_completions": ["gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite"],
        "embeddings": ["text-embedding-004", "gemini-embedding-001"],
        "image_generation": ["imagen-3.0-generate-002", "imagen-4.0-generate-001"],
        "video_generation": ["veo-3.0-generate-001", "veo-3.0-fast-generate-001", "veo-2.0-generate-001"],
    },
    "mistral": {
        "text_completions": ["mistral-large-latest", "mistral-small-latest", "codestral-latest"],
        "embeddings": ["mistral-embed"],
    },
    "deepseek": {"text_completions": ["deepseek-chat", "deepseek-reasoner"]},
    "xai": {
        "text_completions": ["grok-3", "grok-3-mini", "grok-4"],
        "image_generation": ["grok-2-image", "grok-2-image-1212", "grok-2-image-latest"],
    },
    "groq": {"text_completions": ["llama-3.3-70b-versatile", "llama-3.1-8b-instant"]},
}


def test_the_catalog_knows_every_required_model(catalog):
    for pid, categories in REQUIRED.items():
        for category, names in categories.items():
            for name in names:
                assert catalog.find(pid, name, category) is not None, (pid, category, name)


def test_every_provider_serves_at_least_one_enabled_model(catalog):
    for p in catalog.providers():
        assert any(not e["is_disabled"] for c in CATEGORIES for e in p[c]), p["id"]


# ----- lookups and errors ----------------------------------------------------------------------------


def test_lookup_by_model_name_and_by_alias(catalog):
    assert catalog.model("openai", "gpt-4o-mini")["outputPricePer1MTokens"] == 0.60
    by_alias = catalog.model("anthropic", "claude-haiku-4-5")
    assert by_alias["modelName"] == "claude-haiku-4-5-20251001"
    entry = catalog.resolve("anthropic", "claude-haiku-4-5", "text_completions")
    assert entry["modelName"] == "claude-haiku-4-5-20251001"  # what goes upstream
    assert catalog.model("groq", "gpt-oss-120b")["modelName"] == "openai/gpt-oss-120b"


def test_models_in_a_category_are_exactly_as_stored_plus_their_status(catalog):
    stored = json.loads((Path(__file__).parents[2] / "server/catalog/data/openai.json").read_text())
    for category in CATEGORIES:
        listed = catalog.models_in("openai", category)
        assert [{k: v for k, v in m.items() if k not in ("status", "is_disabled")} for m in listed] == [
            {k: v for k, v in m.items() if k not in ("status", "is_disabled")} for m in stored[category]
        ]
    assert catalog.provider("openai")["text_completions"] == catalog.models_in("openai", "text_completions")


def test_unknown_provider_is_not_found_naming_it(catalog):
    for call in (
        lambda: catalog.provider("nope"),
        lambda: catalog.models_in("nope", "embeddings"),
        lambda: catalog.model("nope", "gpt-4o"),
        lambda: catalog.resolve("nope", "gpt-4o", "text_completions"),
    ):
        with pytest.raises(NotFound) as err:
            call()
        assert err.value.detail == "Provider 'nope' not found"
        assert err.value.http_status == 404


def test_unknown_model_and_category_are_not_found(catalog):
    with pytest.raises(NotFound) as err:
        catalog.model("openai", "gpt-9")
    assert err.value.detail.startswith("Model 'openai/gpt-9' not found; closest known ids at openai: ")
    with pytest.raises(NotFound) as err:
        catalog.resolve("openai", "gpt-9", "text_completions")
    assert "Model" in err.value.detail and "gpt-9" in err.value.detail
    with pytest.raises(NotFound) as err:
        catalog.models_in("openai", "music")
    assert "music" in err.value.detail
    assert catalog.find("openai", "gpt-9") is None


def test_disabled_model_is_listed_but_not_served(catalog):
    entry = catalog.model("openai", "dall-e-3")
    assert entry["is_disabled"] is True and entry["status"] == "retired"
    assert any(m["modelName"] == "dall-e-3" for m in catalog.models_in("openai", "image_generation"))
    with pytest.raises(NotFound) as err:
        catalog.resolve("openai", "dall-e-3", "image_generation")
    assert (
        err.value.detail
        == "Model 'openai/dall-e-3' is not available (disabled): retired on 2026-05-12, use 'openai/gpt-image-2'"
    )
    with pytest.raises(NotFound) as err:
        catalog.resolve("xai", "grok-2-image", "image_generation")  # by alias too
    assert err.value.detail == (
        "Model 'xai/grok-2-image' is not available (disabled): retired on 2026-02-24, use 'xai/grok-imagine-image'"
    )


def test_model_in_the_wrong_category(catalog):
    with pytest.raises(NotFound) as err:
        catalog.resolve("openai", "gpt-4o-mini", "embeddings")
    assert err.value.detail == "Model 'openai/gpt-4o-mini' does not support embeddings"


def test_answers_are_copies_and_resolve_is_read_only(catalog):
    listed = catalog.providers()
    listed[0]["text_completions"].clear()
    catalog.model("openai", "gpt-4o")["inputPricePer1MTokens"] = 0
    assert catalog.providers()[0]["text_completions"]
    assert catalog.model("openai", "gpt-4o")["inputPricePer1MTokens"] == 2.50
    entry = catalog.resolve("openai", "gpt-4o", "text_completions")
    with pytest.raises(TypeError):
        entry["inputPricePer1MTokens"] = 0  # type: ignore[index]


def test_split_model_ref():
    assert split_model_ref("openai/gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert split_model_ref("groq/openai/gpt-oss-120b") == ("groq", "openai/gpt-oss-120b")
    for bad in ("gpt-4o", "/gpt-4o", "openai/"):
        with pytest.raises(NotFound):
            split_model_ref(bad)


# ----- HUB_CATALOG_DIR -------------------------------------------------------------------------------


def write(directory: Path, name: str, data) -> None:
    (directory / name).write_text(json.dumps(data))


def test_extra_dir_adds_a_provider_and_overrides_a_model(tmp_path):
    write(
        tmp_path,
        "local.json",
        {
            "id": "local",
            "name": "Local",
            "description": "Ollama on this machine",
            "website": "http://127.0.0.1:11434",
            "text_completions": [
                {
                    "id": "llama3",
                    "modelName": "llama3.2:3b",
                    "name": "Llama 3.2 3B",
                    "type": "text_completions",
                    "description": "local",
                    "contextWindow": 131072,
                    "inputPricePer1MTokens": 0,
                    "outputPricePer1MTokens": 0,
                    "is_disabled": False,
                }
            ],
        },
    )
    base = load_catalog(None)
    mini = base.model("openai", "gpt-4o-mini")
    write(
        tmp_path,
        "openai.json",  # no "id": the file name names the provider
        {
            "description": "OpenAI through our enterprise contract",
            "text_completions": [
                {**mini, "inputPricePer1MTokens": 0.10, "outputPricePer1MTokens": 0.40},
                {**mini, "modelName": "gpt-4o-mini-ft", "name": "Our fine-tune"},
            ],
            "image_generation": [  # re-enabled by the operator: without its retirement
                {
                    k: v
                    for k, v in base.model("openai", "dall-e-3").items()
                    if k not in ("status", "is_disabled", "retirement_date")
                }
            ],
        },
    )
    cat = load_catalog(str(tmp_path))

    assert cat.provider_ids()[-1] == "local"
    local = cat.provider("local")
    assert all(local[c] == [] for c in CATEGORIES if c != "text_completions")
    assert cat.model("local", "llama3")["modelName"] == "llama3.2:3b"  # by id
    assert cat.resolve("local", "llama3.2:3b", "text_completions")["contextWindow"] == 131072
    assert token_cost_nanos(cat.resolve("local", "llama3", "text_completions"), 10_000, 10_000) == 0

    openai = cat.provider("openai")
    base_openai = base.provider("openai")
    assert openai["description"] == "OpenAI through our enterprise contract"
    assert openai["name"] == "OpenAI"  # fields the file does not name are kept
    names = [m["modelName"] for m in openai["text_completions"]]
    assert names == [m["modelName"] for m in base_openai["text_completions"]] + ["gpt-4o-mini-ft"]
    overridden = cat.resolve("openai", "gpt-4o-mini", "text_completions")
    assert overridden["inputPricePer1MTokens"] == 0.10
    assert token_cost_nanos(overridden, 1000, 500) == 100_000 + 200_000
    assert cat.model("openai", "gpt-4o")["inputPricePer1MTokens"] == 2.50  # others untouched
    assert openai["embeddings"] == base_openai["embeddings"]
    assert cat.resolve("openai", "dall-e-3", "image_generation")["pricePerImage"] == 0.04  # re-enabled
    assert len(openai["image_generation"]) == len(base_openai["image_generation"])


def test_extra_files_apply_in_name_order(tmp_path):
    write(tmp_path, "a.json", {"id": "openai", "name": "First"})
    write(tmp_path, "b.json", {"id": "openai", "name": "Second"})
    assert load_catalog(str(tmp_path)).provider("openai")["name"] == "Second"


def test_a_missing_extra_dir_is_an_error(tmp_path):
    with pytest.raises(CatalogError, match="not a directory"):
        load_catalog(str(tmp_path / "absent"))


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        json.dumps({"id": "x", "text_completions": {}}),
        json.dumps({"id": "x", "text_completions": [{"name": "no modelName"}]}),
        json.dumps({"id": "x", "embeddings": [{"modelName": "e", "is_disabled": "no"}]}),
        json.dumps({"id": "a/b"}),
    ],
)
def test_a_malformed_extra_file_is_an_error_naming_it(tmp_path, content):
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(CatalogError, match=r"bad\.json"):
        load_catalog(str(tmp_path))


# ----- pricing ---------------------------------------------------------------------------------------


def test_token_cost_is_exact(catalog):
    mini = catalog.model("openai", "gpt-4o-mini")  # $0.15 in, $0.075 cached, $0.60 out per 1M
    assert token_cost_nanos(mini, 1000, 500) == 150_000 + 300_000
    assert token_cost_nanos(mini, 1000, 500, 400) == 600 * 150 + 400 * 75 + 500 * 600
    assert token_cost_nanos(mini, 0, 0) == 0
    assert token_cost_nanos(mini, 1_000_000, 1_000_000) == usd_to_nanos(0.75)
    # A million requests of 1 token each cost exactly what one request of a million tokens costs.
    assert sum(token_cost_nanos(mini, 1, 0) for _ in range(1000)) * 1000 == token_cost_nanos(mini, 1_000_000, 0)


def test_token_cost_rounds_up_once_to_the_next_nano():
    entry = {"modelName": "t", "inputPricePer1MTokens": 0.0028, "outputPricePer1MTokens": 0.0001}
    assert token_cost_nanos(entry, 1, 0) == 3  # 2.8 nanos
    assert token_cost_nanos(entry, 1, 1) == 3  # 2.8 + 0.1, rounded once
    assert token_cost_nanos(entry, 10, 0) == 28


def test_cached_tokens_without_a_cached_price_cost_the_input_price():
    entry = {"modelName": "t", "inputPricePer1MTokens": 1.0, "outputPricePer1MTokens": 2.0}
    assert token_cost_nanos(entry, 1000, 0, 1000) == token_cost_nanos(entry, 1000, 0) == 1_000_000


def test_cache_writes_and_long_context(catalog):
    sonnet = catalog.model("anthropic", "claude-sonnet-4-5")  # $3 in, $3.75 write, $0.30 read, $15 out
    assert token_cost_nanos(sonnet, 10_000, 1000, 2000, cache_write_tokens=3000) == (
        5000 * 3000 + 2000 * 300 + 3000 * 3750 + 1000 * 15_000
    )
    # Over 200K input tokens the whole request is billed at the long-context rates ($6 in, $22.50 out).
    assert token_cost_nanos(sonnet, 200_000, 0) == 200_000 * 3000
    assert token_cost_nanos(sonnet, 200_001, 1000) == 200_001 * 6000 + 1000 * 22_500
    pro = catalog.model("google", "gemini-3.1-pro-preview")
    assert token_cost_nanos(pro, 300_000, 10_000, 100_000) == 200_000 * 4000 + 100_000 * 400 + 10_000 * 18_000


def test_token_cost_rejects_bad_usage_and_missing_prices(catalog):
    mini = catalog.model("openai", "gpt-4o-mini")
    with pytest.raises(ValueError):
        token_cost_nanos(mini, -1, 0)
    with pytest.raises(ValueError):
        token_cost_nanos(mini, 10, 0, 11)
    with pytest.raises(PricingError):
        token_cost_nanos(catalog.model("openai", "text-embedding-3-small"), 10, 1)  # no output price
    with pytest.raises(PricingError):
        token_cost_nanos({"modelName": "x", "inputPricePer1MTokens": -1}, 1, 0)


def test_image_cost(catalog):
    dalle3 = catalog.model("openai", "dall-e-3")
    assert image_cost_nanos(dalle3, 2, "1792x1024", "hd") == 240_000_000
    assert image_cost_nanos(dalle3, 1, "1024x1024", "standard") == 40_000_000
    assert image_cost_nanos(dalle3, 1, "1024x1024", None) == 40_000_000  # defaultImageQuality
    assert image_cost_nanos(dalle3, 1, None, None) == 40_000_000  # pricePerImage
    assert image_cost_nanos(dalle3, 0, "1024x1024", "hd") == 0
    dalle2 = catalog.model("openai", "dall-e-2")
    assert image_cost_nanos(dalle2, 3, "256x256", None) == 48_000_000
    grok = catalog.model("xai", "grok-imagine-image-2.0")
    assert image_cost_nanos(grok, 1, "2k", "low") == 60_000_000
    # A known size with an unknown quality and no default costs the dearest quality, never less.
    assert (
        image_cost_nanos({"modelName": "x", "imagePrices": {"s": {"a": 0.01, "b": 0.03}}}, 1, "s", "zzz") == 30_000_000
    )
    assert image_cost_nanos({"modelName": "x", "imagePrices": {"s": 0.01, "t": 0.02}}, 1, "u", None) == 20_000_000
    with pytest.raises(PricingError):
        image_cost_nanos({"modelName": "x"}, 1, None, None)


def test_characters_minutes_and_seconds(catalog):
    assert characters_cost_nanos(catalog.model("openai", "tts-1"), 1000) == 15_000_000
    assert characters_cost_nanos(catalog.model("openai", "tts-1-hd"), 1) == 30_000
    whisper = catalog.model("openai", "whisper-1")  # $0.006 per minute, billed per second fraction
    assert minutes_cost_nanos(whisper, 60) == 6_000_000
    assert minutes_cost_nanos(whisper, 90.5) == 9_050_000
    assert minutes_cost_nanos(whisper, 0.01) == 1000
    assert minutes_cost_nanos(whisper, 0) == 0
    turbo = catalog.model("groq", "whisper-large-v3-turbo")  # $0.04 per hour, 10 s minimum
    assert minutes_cost_nanos(turbo, 3) == minutes_cost_nanos(turbo, 10) == math.ceil(10 * 0.04e9 / 3600)
    assert minutes_cost_nanos(turbo, 3600) == 40_000_000
    sora_pro = catalog.model("openai", "sora-2-pro")
    assert seconds_cost_nanos(sora_pro, 8, "1792x1024") == 4_000_000_000
    assert seconds_cost_nanos(sora_pro, 8) == 2_400_000_000
    assert seconds_cost_nanos(catalog.model("google", "veo-3.1-fast-generate-preview"), 4.5) == 675_000_000
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            minutes_cost_nanos(whisper, bad)
        with pytest.raises(ValueError):
            seconds_cost_nanos(sora_pro, bad)


def test_usd_nano_conversions():
    assert usd_to_nanos(0.15) == 150_000_000
    assert usd_to_nanos(1) == 1_000_000_000
    assert nanos_to_usd(450_000) == 0.00045
    assert nanos_to_usd(usd_to_nanos(12.345678901)) == 12.345678901


# ----- capability flags (the agentic chat path relies on them) ---------------------------------------

FLAG_TYPES = {
    "supportsTools": bool,
    "supportsVision": bool,
    "supportsPdf": bool,
    "supportsJsonSchema": bool,
    "reasoningEfforts": list,
    "upstreamApi": str,
}


def shipped_raw():
    for path in sorted((Path(__file__).parents[2] / "server/catalog/data").glob("*.json")):
        yield path.name, json.loads(path.read_text())


def test_every_shipped_text_model_states_every_capability_flag():
    count = 0
    for fname, provider in shipped_raw():
        for e in provider["text_completions"]:
            count += 1
            for flag, kind in FLAG_TYPES.items():
                assert isinstance(e.get(flag), kind), (fname, e["modelName"], flag)
            assert set(e["reasoningEfforts"]) <= {"low", "medium", "high"}, (fname, e["modelName"])
            assert e["upstreamApi"] in ("chat_completions", "responses"), (fname, e["modelName"])
            if provider["id"] != "openai":
                assert e["upstreamApi"] == "chat_completions", (fname, e["modelName"])
    assert count > 40


def test_capability_flags_follow_the_providers_documentation(catalog):
    def flags(pid, model):
        return {k: catalog.model(pid, model)[k] for k in FLAG_TYPES}

    mini = flags("openai", "gpt-4o-mini")  # the documented default stays a plain chat-completions model
    assert mini["upstreamApi"] == "chat_completions" and mini["supportsTools"] and mini["reasoningEfforts"] == []
    for tier in ("sol", "terra", "luna"):  # tools + reasoning only through POST /v1/responses
        assert flags("openai", f"gpt-5.6-{tier}")["upstreamApi"] == "responses"
    assert not flags("deepseek", "deepseek-v4-pro")["supportsVision"]  # images only on deepseek-flash
    assert flags("deepseek", "deepseek-flash")["supportsVision"]
    assert not flags("deepseek", "deepseek-flash")["supportsJsonSchema"]  # json_object only
    assert flags("mistral", "mistral-large-latest")["supportsVision"]
    assert not flags("groq", "openai/gpt-oss-120b")["supportsVision"]
    assert flags("anthropic", "claude-haiku-4-5")["supportsPdf"]


def test_a_bad_capability_flag_stops_loading_naming_file_model_and_field(tmp_path):
    mini = load_catalog(None).model("openai", "gpt-4o-mini")
    for field, bad in (("supportsTools", "yes"), ("reasoningEfforts", ["max"]), ("upstreamApi", "assistants")):
        write(tmp_path, "openai.json", {"text_completions": [{**mini, field: bad}]})
        with pytest.raises(CatalogError) as err:
            load_catalog(str(tmp_path))
        message = str(err.value)
        assert "openai.json" in message and "'gpt-4o-mini'" in message and f"'{field}" in message, message


def test_an_unknown_field_is_an_error_not_ignored(tmp_path):
    mini = load_catalog(None).model("openai", "gpt-4o-mini")
    write(tmp_path, "openai.json", {"text_completions": [{**mini, "supportTools": True}]})
    with pytest.raises(CatalogError, match=r"openai\.json: openai\.text_completions model 'gpt-4o-mini': "):
        load_catalog(str(tmp_path))


def test_operator_models_without_flags_inherit_or_claim_nothing(tmp_path):
    mini = load_catalog(None).model("openai", "gpt-4o-mini")
    bare = {k: v for k, v in mini.items() if k not in FLAG_TYPES}
    write(tmp_path, "openai.json", {"text_completions": [{**bare, "inputPricePer1MTokens": 0.1}]})
    write(
        tmp_path,
        "local.json",
        {
            "text_completions": [
                {
                    "modelName": "qwen3:8b",
                    "contextWindow": 32768,
                    "inputPricePer1MTokens": 0,
                    "outputPricePer1MTokens": 0,
                }
            ]
        },
    )
    cat = load_catalog(str(tmp_path))
    assert {k: cat.model("openai", "gpt-4o-mini")[k] for k in FLAG_TYPES} == {k: mini[k] for k in FLAG_TYPES}
    local = cat.models_in("local", "text_completions")[0]  # shown by the Models endpoints as assumed
    assert {k: local[k] for k in FLAG_TYPES} == {
        "supportsTools": False,
        "supportsVision": False,
        "supportsPdf": False,
        "supportsJsonSchema": False,
        "reasoningEfforts": [],
        "upstreamApi": "chat_completions",
    }


# ----- current families ------------------------------------------------------------------------------

CURRENT = {
    "openai": ["gpt-6-astra", "gpt-6.1-sol", "gpt-6-sol", "gpt-6-luna", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna"],
    "anthropic": ["claude-fable-5-1", "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"],
    "google": ["gemini-3.8-flash", "gemini-3.6-flash", "gemini-3.5-flash", "gemini-3.5-flash-lite"],
    "xai": ["grok-4.7", "grok-4.6", "grok-4.5", "grok-4.3"],
    "mistral": ["mistral-large-4-0", "mistral-medium-latest", "mistral-small-latest"],
    "deepseek": ["deepseek-flash", "deepseek-v4-pro"],
    "groq": ["openai/gpt-oss-120b", "meta-llama/llama-4-scout-17b-16e-instruct"],
}


def test_the_current_families_are_callable_with_their_list_prices(catalog):
    for pid, names in CURRENT.items():
        for name in names:
            entry = catalog.resolve(pid, name, "text_completions")
            assert "2026-11-24" <= entry["priceCheckedAt"] <= "2026-12-01", (pid, name)  # checked this week
    sol = catalog.resolve("openai", "gpt-6-sol", "text_completions")
    assert (sol["inputPricePer1MTokens"], sol["outputPricePer1MTokens"]) == (2.0, 10.0)  # the issue's $2 / $10
    assert sol["releaseDate"] == "2026-09-22" and catalog.model("openai", "gpt-6.1-sol")["releaseDate"] == "2026-09-29"
    assert catalog.model("anthropic", "claude-fable-5-1")["releaseDate"] == "2026-09-01"


def test_aliases_resolve_in_one_place(catalog):
    assert catalog.resolve("openai", "gpt-5.6", "text_completions")["modelName"] == "gpt-5.6-sol"
    assert catalog.resolve("anthropic", "claude-sonnet-4-5", "text_completions")["modelName"] == (
        "claude-sonnet-4-5-20250929"
    )
    assert catalog.resolve("openai", "gpt-6.1-sol-2026-09-29", "text_completions")["modelName"] == "gpt-6.1-sol"


# ----- tiered prices, cache writes, reasoning: hand-computed ------------------------------------------


def test_openai_long_context_tier_multiplies_the_whole_request(catalog):
    sol = catalog.resolve("openai", "gpt-6-sol", "text_completions")  # $2 in, $0.20 cached, $2.50 write, $10 out
    # At the threshold: base prices. 272,000 x $2 + 1,000 x $10 = $0.554.
    assert token_cost_nanos(sol, 272_000, 1_000) == 554_000_000
    # One token over: every token at 2x input, 1.5x output. 272,001 x $4 + 1,000 x $15 = $1.103004.
    assert token_cost_nanos(sol, 272_001, 1_000) == 1_103_004_000
    # Over, with cache reads and writes and reasoning (part of the output):
    # 150,000 x $4 + 100,000 x $0.40 + 50,000 x $5 + 2,000 x $15 = $0.92.
    assert token_cost_nanos(sol, 300_000, 2_000, 100_000, cache_write_tokens=50_000, reasoning_tokens=500) == (
        920_000_000
    )
    # Reasoning tokens cost exactly what output tokens cost: they are output.
    assert token_cost_nanos(sol, 10, 100, reasoning_tokens=100) == token_cost_nanos(sol, 10, 100)


def test_claude_haiku_55_bills_five_times_over_100k(catalog):
    haiku = catalog.resolve("anthropic", "claude-haiku-5-5", "text_completions")  # $0.10 / $0.01 / $0.125 / $0.50
    assert token_cost_nanos(haiku, 100_000, 10_000) == 15_000_000  # 100,000 x $0.10 + 10,000 x $0.50
    assert token_cost_nanos(haiku, 100_001, 10_000) == 75_000_500  # 100,001 x $0.50 + 10,000 x $2.50
    # Cache reads and writes count towards the threshold (input_tokens includes them, as Anthropic bills):
    # 10,000 x $0.50 + 100,000 x $0.05 + 10,000 x $0.625 + 1 x $2.50 = $0.0162525.
    assert token_cost_nanos(haiku, 120_000, 1, 100_000, cache_write_tokens=10_000) == 16_252_500


def test_converted_200k_tiers_keep_the_published_long_context_prices(catalog):
    pro = catalog.resolve("google", "gemini-3.1-pro-preview", "text_completions")  # $2/$12 -> $4/$18 over 200K
    assert token_cost_nanos(pro, 200_000, 100) == 400_000_000 + 1_200_000
    assert token_cost_nanos(pro, 200_001, 100) == 800_004_000 + 1_800_000
    grok = catalog.resolve("xai", "grok-4.7", "text_completions")  # $2 / $0.50 / $6 -> 2x and 2x over 200K
    assert token_cost_nanos(grok, 200_000, 1_000, 100_000) == 100_000 * 2_000 + 100_000 * 500 + 1_000 * 6_000
    assert token_cost_nanos(grok, 200_001, 1_000, 100_000) == 100_001 * 4_000 + 100_000 * 1_000 + 1_000 * 12_000
    sonnet = catalog.resolve("anthropic", "claude-sonnet-4-5", "text_completions")  # $6/$0.60/$7.50/$22.50 over
    assert token_cost_nanos(sonnet, 250_000, 1_000, 50_000, cache_write_tokens=50_000) == 1_327_500_000


def test_reservation_covers_the_dearest_input_rate_in_the_worst_tier(catalog):
    sol = catalog.resolve("openai", "gpt-6-sol", "text_completions")
    # Worst case of 300,000 in / 1,000 out: every input token a cache write ($2.50 x 2) + output at $15.
    assert max_token_cost_nanos(sol, 300_000, 1_000) == 1_515_000_000
    for input_tokens, cached, written in ((300_000, 0, 0), (300_000, 300_000, 0), (300_000, 100, 299_000)):
        assert token_cost_nanos(sol, input_tokens, 1_000, cached, cache_write_tokens=written) <= (
            max_token_cost_nanos(sol, 300_000, 1_000)
        )
    mini = catalog.resolve("openai", "gpt-4o-mini", "text_completions")  # no cache-write price: plain input
    assert max_token_cost_nanos(mini, 1_000, 500) == token_cost_nanos(mini, 1_000, 500)
    haiku = catalog.resolve("anthropic", "claude-haiku-5-5", "text_completions")
    assert max_token_cost_nanos(haiku, 100_001, 0) == 100_001 * 625  # $0.125 x 5 per token, in nano-USD


def test_price_tier_and_token_count_checks():
    entry = {
        "modelName": "t",
        "inputPricePer1MTokens": 1,
        "outputPricePer1MTokens": 2,
        "priceTiers": [
            {"aboveInputTokens": 10, "inputMultiplier": 2, "outputMultiplier": 3},
            {"aboveInputTokens": 20, "inputMultiplier": 4, "outputMultiplier": 5},
        ],
    }
    assert price_tier(entry, 10) == (1, 1)
    assert price_tier(entry, 11) == (2, 3)
    assert price_tier(entry, 21) == (4, 5)
    assert token_cost_nanos(entry, 21, 1) == math.ceil((21 * 4 + 1 * 2 * 5) * 1000)
    with pytest.raises(ValueError):
        token_cost_nanos(entry, 5, 1, reasoning_tokens=2)


def test_price_changes_apply_from_their_date():
    gemini = load_catalog(None, today=on(dt.date(2026, 12, 31)))
    assert gemini.resolve("google", "gemini-3.8-flash", "text_completions")["inputPricePer1MTokens"] == 0.75
    later = load_catalog(None, today=on(dt.date(2027, 1, 1)))
    entry = later.resolve("google", "gemini-3.8-flash", "text_completions")
    assert (entry["inputPricePer1MTokens"], entry["outputPricePer1MTokens"]) == (1.5, 7.5)
    assert later.resolve("google", "gemini-3.8-flash", "text_completions") is entry  # one shared view
    assert later.model("google", "gemini-3.8-flash")["outputPricePer1MTokens"] == 7.5  # the Models answer too
    assert token_cost_nanos(entry, 1_000_000, 0) == 1_500_000_000


# ----- lifecycle by date -----------------------------------------------------------------------------


def test_a_model_past_its_retirement_date_is_refused_naming_the_replacement(catalog):
    with pytest.raises(NotFound) as err:
        catalog.resolve("openai", "gpt-4.1-nano", "text_completions")
    assert err.value.detail == (
        "Model 'openai/gpt-4.1-nano' is not available (disabled): retired on 2026-10-23, use 'openai/gpt-4.1-mini'"
    )
    listed = {m["modelName"]: m for m in catalog.models_in("openai", "text_completions")}
    assert listed["gpt-4.1-nano"]["status"] == "retired" and listed["gpt-4.1-nano"]["is_disabled"] is True


def test_dates_move_a_model_through_its_life_without_editing_a_file():
    def opus_45(day):
        cat = load_catalog(None, today=on(day))
        return cat.model("anthropic", "claude-opus-4-5"), cat

    before, cat = opus_45(dt.date(2026, 11, 22))
    assert before["status"] == "active" and before["retirement_date"] == "2027-01-22"  # the date is shown
    assert cat.resolve("anthropic", "claude-opus-4-5", "text_completions")
    deprecated, cat = opus_45(dt.date(2026, 11, 23))
    assert deprecated["status"] == "deprecated" and deprecated["is_disabled"] is False
    assert cat.resolve("anthropic", "claude-opus-4-5", "text_completions")  # deprecated is still callable
    retired, cat = opus_45(dt.date(2027, 1, 22))
    assert retired["status"] == "retired" and retired["is_disabled"] is True
    with pytest.raises(NotFound) as err:
        cat.resolve("anthropic", "claude-opus-4-5", "text_completions")
    assert err.value.detail == (
        "Model 'anthropic/claude-opus-4-5' is not available (disabled): retired on 2027-01-22, "
        "use 'anthropic/claude-opus-5-5'"
    )


def test_an_operator_can_retire_or_switch_off_a_model(tmp_path):
    mini = load_catalog(None).model("openai", "gpt-4o-mini")
    bare = {k: v for k, v in mini.items() if k not in ("status", "is_disabled")}
    write(
        tmp_path,
        "openai.json",
        {"text_completions": [{**bare, "retirement_date": "2026-11-30", "replacement": "gpt-4.1-mini"}]},
    )
    with pytest.raises(NotFound, match=r"retired on 2026-11-30, use 'openai/gpt-4\.1-mini'"):
        load_catalog(str(tmp_path), today=on(CHECKED)).resolve("openai", "gpt-4o-mini", "text_completions")
    nano = {k: v for k, v in load_catalog(None).model("openai", "gpt-4.1-nano").items() if k != "status"}
    write(tmp_path, "openai.json", {"text_completions": [{**nano, "is_disabled": False}]})  # kept on past retirement
    kept = load_catalog(str(tmp_path), today=on(CHECKED))
    assert kept.resolve("openai", "gpt-4.1-nano", "text_completions")["modelName"] == "gpt-4.1-nano"
    assert kept.model("openai", "gpt-4.1-nano")["status"] == "retired"  # what the provider says, shown
    write(tmp_path, "openai.json", {"text_completions": [{**bare, "is_disabled": True}]})
    with pytest.raises(NotFound, match=r"^Model 'openai/gpt-4o-mini' is not available \(disabled\)$"):
        load_catalog(str(tmp_path)).resolve("openai", "gpt-4o-mini", "text_completions")


def test_unknown_model_names_the_provider_and_up_to_three_closest_ids(catalog):
    with pytest.raises(NotFound) as err:
        catalog.resolve("openai", "gpt-6-sool", "text_completions")
    assert err.value.detail == (
        "Model 'openai/gpt-6-sool' not found; closest known ids at openai: gpt-6-sol, gpt-6.1-sol, gpt-5.6-sol"
    )
    assert err.value.http_status == 404
    with pytest.raises(NotFound) as err:
        catalog.resolve("anthropic", "claude-opus-5.5", "text_completions")
    assert err.value.detail.startswith("Model 'anthropic/claude-opus-5.5' not found; closest known ids at anthropic: ")
    assert "claude-opus-5-5" in err.value.detail
    assert "gpt-4.1-nano" not in catalog.closest("openai", "gpt-4.1-nana")  # retired ones are not suggested
    assert len(catalog.closest("openai", "gpt")) <= 3
    with pytest.raises(NotFound) as err:
        catalog.resolve("openai", "zzzzzzzz", "text_completions")
    assert err.value.detail == "Model 'openai/zzzzzzzz' not found"  # nothing close: no list
    with pytest.raises(NotFound) as err:
        catalog.provider("anthropc")
    assert err.value.detail == "Provider 'anthropc' not found; did you mean 'anthropic'?"


# ----- the schema: a bad entry stops loading, naming file, model and field ----------------------------


def _text(**fields):
    base = {
        "modelName": "m",
        "contextWindow": 1000,
        "inputPricePer1MTokens": 1,
        "outputPricePer1MTokens": 1,
        **dict.fromkeys(("supportsTools", "supportsVision", "supportsPdf", "supportsJsonSchema"), False),
        "reasoningEfforts": [],
        "upstreamApi": "chat_completions",
    }
    return {k: v for k, v in {**base, **fields}.items() if v is not None}


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (_text(inputPricePer1MTokens="1.0"), "inputPricePer1MTokens"),
        (_text(inputPricePer1MTokens=True), "inputPricePer1MTokens"),
        (_text(contextWindow=0), "contextWindow"),
        (_text(retirement_date="2026-13-01"), "retirement_date"),
        (_text(deprecation_date="2027-02-01", retirement_date="2027-01-01"), "deprecation_date"),
        (_text(priceSource="the website"), "priceSource"),
        (_text(priceTiers=[{"aboveInputTokens": 5, "inputMultiplier": 2}]), "priceTiers.0.outputMultiplier"),
        (_text(priceChanges=[{"effectiveFrom": "soon"}]), "priceChanges.0.effectiveFrom"),
        (_text(outputPricePer1MTokens=None), "is_disabled"),  # an enabled model needs its prices
        (_text(replacement="nope"), "replacement"),
        (_text(aliases=["gpt-4o"]), "gpt-4o"),  # an alias may not shadow another model
        (_text(shutdownDate="2026-01-01"), "shutdownDate"),  # the old field name is an unknown field
    ],
)
def test_a_bad_entry_is_refused_naming_file_model_and_field(tmp_path, entry, field):
    write(tmp_path, "openai.json", {"text_completions": [entry]})
    with pytest.raises(CatalogError) as err:
        load_catalog(str(tmp_path))
    message = str(err.value)
    assert "openai.json" in message and "model 'm'" in message and field in message, message


def test_a_disabled_entry_needs_no_price_yet(tmp_path):
    write(tmp_path, "openai.json", {"text_completions": [_text(is_disabled=True, outputPricePer1MTokens=None)]})
    cat = load_catalog(str(tmp_path))
    with pytest.raises(NotFound, match="disabled"):
        cat.resolve("openai", "m", "text_completions")
