"""The drift check: which models a provider serves that the catalog lacks, and which it no longer lists.

`python -m server catalog check [--provider P] [--write DIR]` asks each configured provider's own
list-models API with the operator's key (OpenAI and OpenAI-compatible `GET {base}/models`, Anthropic
`GET /v1/models`, Gemini `GET /v1beta/models`, following their pagination), compares the ids with the
catalog the server would load (shipped files plus HUB_CATALOG_DIR), and prints one table. `--write DIR`
adds each missing model to DIR/<provider>.json as a disabled entry without a price: an operator points
HUB_CATALOG_DIR at DIR, fills in the price and capabilities, and removes `is_disabled`.

Why a check and not an automatic sync: list-models APIs give ids (at best token limits), never prices or
capabilities, and billing a model at a guessed price is worse than not serving it yet.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from server.catalog import lifecycle, schema
from server.catalog.catalog import CATEGORIES, Catalog, load_catalog, model_keys
from server.providers import anthropic, google, openai_format, registry
from server.providers.base import ProviderConfig
from server.providers.http import provider_message

PAGE_SIZE = 1000  # the most Anthropic and Gemini return per page
MAX_PAGES = 100  # a provider that keeps paging past 100k models is broken, not large
TIMEOUT_SECONDS = 30.0


class ListError(Exception):
    """A provider's list-models call failed; the message names the provider and what it answered."""


@dataclass(frozen=True)
class Listed:
    """One model as a provider's list-models API describes it."""

    id: str
    name: str | None = None
    category: str = "text_completions"
    context_window: int | None = None
    max_output: int | None = None


@dataclass
class Drift:
    provider: str
    missing: list[Listed] = field(default_factory=list)  # served, not in the catalog
    unlisted: list[str] = field(default_factory=list)  # in the catalog (callable), no longer served
    error: str | None = None
    skipped: str | None = None


# ----- what a listing says -----------------------------------------------------------------------------

_BY_NAME = (  # checked in order, on the id
    (re.compile(r"embed"), "embeddings"),
    (re.compile(r"(^|[-_/])tts|speech"), "text_to_speech"),
    (re.compile(r"whisper|transcri"), "speech_to_text"),
    (re.compile(r"veo|sora|video"), "video_generation"),
    (re.compile(r"image|imagen|dall-e"), "image_generation"),
)
_GEMINI_METHODS = (
    ("embedContent", "embeddings"),
    ("predictLongRunning", "video_generation"),
    ("predict", "image_generation"),
)


def category_of(model_id: str, methods: Iterable[str] = ()) -> str:
    """The catalog category a listed model most likely belongs in: Gemini says by its methods, the others
    only by the id (a guess the operator reviews: the entry is written disabled)."""
    methods = set(methods)
    for method, category in _GEMINI_METHODS:
        if method in methods and "generateContent" not in methods:
            return category
    for pattern, category in _BY_NAME:
        if pattern.search(model_id.lower()):
            return category
    return "text_completions"


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def parse_openai(body: Any) -> list[Listed]:
    """`GET /models` of OpenAI and compatible servers: {"object": "list", "data": [{"id": ...}]}."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise ValueError("no 'data' list")
    out = []
    for item in data:
        mid = item.get("id") if isinstance(item, dict) else None
        if isinstance(mid, str) and mid and not mid.startswith("ft:"):  # fine-tunes are the account's own
            out.append(Listed(mid, category=category_of(mid)))
    return out


def parse_anthropic(body: Any) -> tuple[list[Listed], str | None]:
    """One page of `GET /v1/models`: {"data": [{"id", "display_name", "max_input_tokens", "max_tokens"}],
    "has_more", "last_id"}; returns the models and the `after_id` of the next page (None on the last)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise ValueError("no 'data' list")
    out = []
    for item in data:
        mid = item.get("id") if isinstance(item, dict) else None
        if isinstance(mid, str) and mid:
            out.append(
                Listed(
                    mid,
                    name=item.get("display_name") if isinstance(item.get("display_name"), str) else None,
                    context_window=_positive(item.get("max_input_tokens")),
                    max_output=_positive(item.get("max_tokens")),
                )
            )
    last = body.get("last_id")
    return out, (last if body.get("has_more") and isinstance(last, str) and last else None)


def parse_gemini(body: Any) -> tuple[list[Listed], str | None]:
    """One page of `GET /v1beta/models`: {"models": [{"name": "models/x", "displayName", "inputTokenLimit",
    "outputTokenLimit", "supportedGenerationMethods"}], "nextPageToken"}."""
    models = body.get("models") if isinstance(body, dict) else None
    if not isinstance(models, list):
        raise ValueError("no 'models' list")
    out = []
    for item in models:
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name:
            mid = name.removeprefix("models/")
            methods = item.get("supportedGenerationMethods")
            out.append(
                Listed(
                    mid,
                    name=item.get("displayName") if isinstance(item.get("displayName"), str) else None,
                    category=category_of(mid, methods if isinstance(methods, list) else ()),
                    context_window=_positive(item.get("inputTokenLimit")),
                    max_output=_positive(item.get("outputTokenLimit")),
                )
            )
    token = body.get("nextPageToken")
    return out, (token if isinstance(token, str) and token else None)


# ----- asking the provider -----------------------------------------------------------------------------


async def _get(client: httpx.AsyncClient, provider: str, url: str, headers: dict, params: dict) -> Any:
    try:
        response = await client.get(url, headers=headers, params=params)
    except httpx.HTTPError as exc:
        raise ListError(f"{provider}: cannot reach {url}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise ListError(f"{provider}: HTTP {response.status_code} from {url}: {provider_message(response.content)}")
    try:
        return response.json()
    except ValueError as exc:
        raise ListError(f"{provider}: {url} did not answer JSON") from exc


async def list_models(client: httpx.AsyncClient, config: ProviderConfig, api_key: str) -> list[Listed]:
    """Every model the provider lists for this key, all pages. Raises ListError naming the provider."""
    pid = config.id
    try:
        if config.wire_format == registry.ANTHROPIC:
            url, parse, cursor_param = f"{config.base_url}/v1/models", parse_anthropic, "after_id"
            headers, params = anthropic.headers(api_key), {"limit": PAGE_SIZE}
        elif config.wire_format == registry.GOOGLE:
            url, parse, cursor_param = f"{config.base_url}/v1beta/models", parse_gemini, "pageToken"
            headers, params = google.headers(api_key), {"pageSize": PAGE_SIZE}
        else:  # OpenAI and OpenAI-compatible: one unpaged list
            url = f"{config.base_url}/models"
            return parse_openai(await _get(client, pid, url, openai_format.headers(api_key), {}))
        listed: list[Listed] = []
        for _ in range(MAX_PAGES):
            page, cursor = parse(await _get(client, pid, url, headers, params))
            listed += page
            if cursor is None:
                return listed
            params = {**params, cursor_param: cursor}
        raise ListError(f"{pid}: {url} kept paging past {MAX_PAGES} pages")
    except ValueError as exc:
        raise ListError(f"{pid}: unexpected list-models answer from {config.base_url}: {exc}") from exc


# ----- comparing -------------------------------------------------------------------------------------------


def compare(catalog: Catalog, provider: str, listed: list[Listed], today: dt.date) -> Drift:
    """Listed ids the catalog does not know (by any name), and catalog models no listed id names. Models
    retired by date or disabled are expected to be missing upstream and are not reported."""
    drift = Drift(provider)
    served = {m.id for m in listed}
    known: set[str] = set()
    entries: list[dict[str, Any]] = []
    if provider in catalog.provider_ids():
        stored = catalog.provider(provider)
        entries = [m for c in CATEGORIES for m in stored[c]]
        for m in entries:
            known.update(model_keys(m))
    seen: set[str] = set()
    for m in listed:
        if m.id not in known and m.id not in seen:
            seen.add(m.id)
            drift.missing.append(m)
    for m in entries:
        if lifecycle.unavailable_reason(m, today) is None and not served.intersection(model_keys(m)):
            if m["modelName"] not in drift.unlisted:
                drift.unlisted.append(m["modelName"])
    return drift


# ----- reporting and writing ---------------------------------------------------------------------------


def table(results: list[Drift]) -> str:
    """One row per finding: provider, change, model id, note; then one line per skipped or failed provider."""
    rows = [("PROVIDER", "CHANGE", "MODEL", "NOTE")]
    for d in results:
        for m in d.missing:
            rows.append((d.provider, "missing from catalog", m.id, f"looks like {m.category}"))
        for name in d.unlisted:
            rows.append((d.provider, "no longer listed", name, "in the catalog, not in the provider's list"))
    lines = []
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
    else:
        lines = ["no drift: every checked provider lists exactly the catalog's callable models"]
    for d in results:
        if d.error:
            lines.append(f"error    {d.error}")
        elif d.skipped:
            lines.append(f"skipped  {d.provider}: {d.skipped}")
        elif not d.missing and not d.unlisted:
            lines.append(f"ok       {d.provider}")
    return "\n".join(lines)


def disabled_entry(provider: str, m: Listed, today: dt.date) -> dict[str, Any]:
    """A catalog entry for a model the provider lists: disabled, unpriced, claiming no capability."""
    entry: dict[str, Any] = {
        "modelName": m.id,
        "name": m.name or m.id,
        "type": m.category,
        "description": (
            f"Listed by {provider}'s models API on {today.isoformat()}; not reviewed yet: add its price "
            "(and capabilities), then remove is_disabled."
        ),
        "is_disabled": True,
    }
    if m.category in ("text_completions", "embeddings") and m.context_window:
        entry["contextWindow"] = m.context_window
    if m.category == "text_completions":
        if m.max_output:
            entry["maxOutputTokens"] = m.max_output
        entry.update(
            {
                "supportsTools": False,
                "supportsVision": False,
                "supportsPdf": False,
                "supportsJsonSchema": False,
                "reasoningEfforts": [],
                "upstreamApi": "chat_completions",
            }
        )
    return entry


def write_missing(directory: Path, drift: Drift, today: dt.date) -> tuple[Path, int]:
    """Adds the missing models to `directory`/<provider>.json (created, or extended: entries already in
    the file are left as the operator edited them). Returns the file and how many entries were added."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{drift.provider}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data.setdefault("id", drift.provider)
    present = {m.get("modelName") for c in CATEGORIES for m in data.get(c, []) if isinstance(m, dict)}
    added = 0
    for m in drift.missing:
        if m.id in present:
            continue
        entry = disabled_entry(drift.provider, m, today)
        problem = schema.model_problem(m.category, entry)
        if problem:  # a bug here, not the operator's: never write a file the server would refuse
            raise AssertionError(f"{drift.provider} model '{m.id}': {problem}")
        data.setdefault(m.category, []).append(entry)
        present.add(m.id)
        added += 1
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path, added


async def check(
    catalog: Catalog,
    providers: Iterable[str],
    *,
    env: dict[str, str] | None = None,
    today: dt.date | None = None,
    client: httpx.AsyncClient | None = None,
) -> list[Drift]:
    """The drift of each provider (skipped when it has no base URL or no operator key; `error` when its
    list-models call failed)."""
    today = today or lifecycle.today_utc()
    env = dict(os.environ) if env is None else env
    own = client is None
    client = client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS)
    results = []
    try:
        for pid in providers:
            config = registry.provider_config(pid, env)
            if config is None:
                results.append(Drift(pid, skipped=f"no base URL (set {pid.upper()}_BASE_URL)"))
                continue
            if not config.api_key:
                results.append(Drift(pid, skipped=f"no operator key (set {pid.upper()}_API_KEY)"))
                continue
            try:
                listed = await list_models(client, config, config.api_key)
            except ListError as exc:
                results.append(Drift(pid, error=str(exc)))
                continue
            results.append(compare(catalog, pid, listed, today))
    finally:
        if own:
            await client.aclose()
    return results


async def run(catalog_dir: str | None, provider: str | None, write_dir: str | None, out: TextIO) -> int:
    """The CLI: 0 when nothing drifted, 1 when something did, 2 when a provider could not be checked."""
    if provider is not None and provider not in registry.known_providers():
        out.write(f"error: unknown provider '{provider}'; providers are: {', '.join(registry.known_providers())}\n")
        return 2
    catalog = load_catalog(catalog_dir)
    today = lifecycle.today_utc()
    results = await check(catalog, [provider] if provider else registry.known_providers(), today=today)
    out.write(table(results) + "\n")
    if write_dir:
        for d in results:
            if d.missing:
                path, added = write_missing(Path(write_dir), d, today)
                out.write(f"wrote {added} disabled entr{'y' if added == 1 else 'ies'} to {path}\n")
    if any(d.error for d in results):
        return 2
    return 1 if any(d.missing or d.unlisted for d in results) else 0
