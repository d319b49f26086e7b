"""The model catalog: which providers and models the gateway serves, and what each one costs.

It is read once at startup from the JSON files shipped in `server/catalog/data/` (one per provider) and
then from every `*.json` in the operator's directory (`HUB_CATALOG_DIR`), which extends or overrides them:

- a file for a new provider id adds that provider (this is how a `local` provider is configured);
- a file for a known provider merges into it: top-level provider fields are overridden, and in each of the
  six categories a model with the same `modelName` replaces the shipped entry (keeping its position) while
  new models are appended.

A file names its provider with its top-level `id`, else by its file name (`openai.json` -> `openai`).
Files are applied in name order, so two override files for one provider merge in that order.

The result is a `Catalog`: the provider objects exactly as stored (the `GET /models...` answers) plus an
index by (provider, model) for the inference path. Lookups never touch the disk. Answers meant for API
responses are fresh copies (a caller may change them freely); `resolve()` returns a read-only view of the
shared entry, because it is on every request's path.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from server.catalog import lifecycle, schema
from server.errors import NotFound

#: The six model categories of a provider, in the order the API lists them.
CATEGORIES: tuple[str, ...] = (
    "text_completions",
    "embeddings",
    "image_generation",
    "text_to_speech",
    "speech_to_text",
    "video_generation",
)

SHIPPED_DIR = Path(__file__).resolve().parent / "data"


class CatalogError(ValueError):
    """A catalog file is unreadable or malformed; raised at load time, naming the file."""


@dataclass(frozen=True)
class _Indexed:
    category: str
    entry: Mapping[str, Any]  # read-only deep view of the stored model


def _freeze(value: Any) -> Any:
    """A read-only deep view: dicts become MappingProxyType, lists become tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def model_keys(entry: Mapping[str, Any]) -> list[str]:
    """The names a model answers to: its `modelName`, its `id` if any, then its `aliases`."""
    keys = [entry["modelName"]]
    if isinstance(entry.get("id"), str) and entry["id"]:
        keys.append(entry["id"])
    keys.extend(a for a in entry.get("aliases") or () if isinstance(a, str) and a)
    return keys


def split_model_ref(ref: str) -> tuple[str, str]:
    """Split "provider/model" at the FIRST slash: "groq/openai/gpt-oss-120b" -> ("groq", "openai/gpt-oss-120b")."""
    provider, sep, model = ref.partition("/")
    if not sep or not provider or not model:
        raise NotFound(f"Model '{ref}' not found: use the form 'provider/model'")
    return provider, model


class Catalog:
    """Immutable after construction; build it with `load_catalog()` (or `Catalog.from_providers()` in tests).

    `today` gives the date lifecycle is judged by (UTC today; tests pass a fixed day)."""

    def __init__(self, providers: Iterable[dict[str, Any]], *, today: Callable[[], dt.date] = lifecycle.today_utc):
        self._today = today
        self._price_views: dict[tuple[int, str], Mapping[str, Any]] = {}
        self._providers: dict[str, dict[str, Any]] = {}
        for p in providers:
            self._providers[p["id"]] = p
        # (provider, name) -> entries under that name, in category order; first wins within a category.
        self._index: dict[tuple[str, str], list[_Indexed]] = {}
        for pid, p in self._providers.items():
            for category in CATEGORIES:
                for entry in p[category]:
                    frozen = _freeze(entry)
                    for key in model_keys(entry):
                        hits = self._index.setdefault((pid, key), [])
                        if not any(h.category == category for h in hits):
                            hits.append(_Indexed(category, frozen))

    @classmethod
    def from_providers(
        cls, providers: Iterable[dict[str, Any]], *, today: Callable[[], dt.date] = lifecycle.today_utc
    ) -> Catalog:
        """A catalog from already-parsed provider objects (validated and normalised like files are)."""
        checked = [_normalise(copy.deepcopy(p), "<memory>") for p in providers]
        for p in checked:
            _check_references(p, "<memory>")
        return cls(checked, today=today)

    # ----- the GET /models answers: fresh copies, with each model's status as of today ------------

    def provider_ids(self) -> list[str]:
        return list(self._providers)

    def providers(self) -> list[dict[str, Any]]:
        """Every provider object as stored, shipped providers first (in file-name order), then added ones."""
        return [self._answer(p) for p in self._providers.values()]

    def provider(self, provider_id: str) -> dict[str, Any]:
        return self._answer(self._provider(provider_id))

    def models_in(self, provider_id: str, category: str) -> list[dict[str, Any]]:
        """One category's model list as stored, `status`/`is_disabled` as of today (retired models included)."""
        p = self._provider(provider_id)
        if category not in CATEGORIES:
            raise NotFound(f"Model category '{category}' not found; categories are: {', '.join(CATEGORIES)}")
        today = self._today()
        return [lifecycle.with_lifecycle(copy.deepcopy(m), today) for m in p[category]]

    def model(self, provider_id: str, model_id: str) -> dict[str, Any]:
        """One model by `modelName`, `id` or alias (retired and disabled models too: this is catalog information)."""
        return lifecycle.with_lifecycle(_thaw(self._hits(provider_id, model_id)[0].entry), self._today())

    # ----- the inference path ----------------------------------------------------------------------

    def find(self, provider_id: str, model_id: str, category: str | None = None) -> Mapping[str, Any] | None:
        """The read-only entry as stored, or None; no errors, no lifecycle. With a category, only that one's."""
        hits = self._index.get((provider_id, model_id))
        if not hits:
            return None
        if category is None:
            return hits[0].entry
        return next((h.entry for h in hits if h.category == category), None)

    def resolve(self, provider_id: str, model_id: str, category: str) -> Mapping[str, Any]:
        """The entry an inference request of `category` may use, as a read-only mapping.

        This is the one place model names are resolved: `modelName`, `id` or an alias (`gpt-5.6` ->
        `gpt-5.6-sol`, an undated Claude id -> its dated snapshot); send `entry["modelName"]` upstream.
        NotFound names the provider and up to three closest known ids when the model is unknown; says so
        when the model exists in another category; and gives the date and the replacement when the model
        is retired (its `retirement_date` has passed) or disabled by the operator.
        """
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}")
        hits = self._hits(provider_id, model_id, category)
        hit = next((h for h in hits if h.category == category), None)
        if hit is None:
            raise NotFound(f"Model '{provider_id}/{model_id}' does not support {category}")
        today = self._today()
        reason = lifecycle.unavailable_reason(hit.entry, today)
        if reason is not None:
            replacement = hit.entry.get("replacement")
            use = f", use '{provider_id}/{replacement}'" if replacement else ""
            # "not available (disabled)" is what clients match on (the official one: ModelNotAvailableError).
            detail = "" if reason == "disabled" else f": {reason}"
            raise NotFound(f"Model '{provider_id}/{model_id}' is not available (disabled){detail}{use}")
        return self._priced_on(hit.entry, today)

    def _priced_on(self, entry: Mapping[str, Any], today: dt.date) -> Mapping[str, Any]:
        """The entry with the prices in effect `today` (itself when it has no price change by then); the
        merged view is built once per change and shared, like the entry."""
        change = lifecycle.price_change_on(entry, today)
        if change is None:
            return entry
        key = (id(entry), change["effectiveFrom"])
        view = self._price_views.get(key)
        if view is None:
            view = _freeze({**_thaw(entry), **lifecycle.prices_on(entry, today)})
            self._price_views[key] = view
        return view

    def closest(self, provider_id: str, model_id: str, category: str | None = None, n: int = 3) -> list[str]:
        """Up to `n` model names of the provider that look most like `model_id` (by any of their names),
        callable ones only: what a 404 suggests."""
        today = self._today()
        by_key: dict[str, str] = {}
        for (pid, key), hits in self._index.items():
            if pid != provider_id:
                continue
            for h in hits:
                if (category is None or h.category == category) and lifecycle.unavailable_reason(
                    h.entry, today
                ) is None:
                    by_key.setdefault(key, h.entry["modelName"])
        names: list[str] = []
        for key in difflib.get_close_matches(model_id, list(by_key), n=3 * n, cutoff=0.6):
            if by_key[key] not in names:
                names.append(by_key[key])
        return names[:n]

    def elsewhere(self, names: Iterable[str], category: str, exclude: str) -> list[str]:
        """ "provider/model" refs of callable `category` models other providers know by one of `names`: for a
        404 on "openai/gpt-oss-120b" that Groq serves as "groq/openai/gpt-oss-120b"."""
        today = self._today()
        refs: list[str] = []
        for pid in self._providers:
            if pid == exclude:
                continue
            for name in names:
                entry = self.find(pid, name, category)
                if entry is not None and lifecycle.unavailable_reason(entry, today) is None:
                    ref = f"{pid}/{entry['modelName']}"
                    if ref not in refs:
                        refs.append(ref)
        return refs[:3]

    # ----- internals ---------------------------------------------------------------------------------

    def _answer(self, provider: dict[str, Any]) -> dict[str, Any]:
        today = self._today()
        out = copy.deepcopy(provider)
        for category in CATEGORIES:
            out[category] = [lifecycle.with_lifecycle(m, today) for m in out[category]]
        return out

    def _provider(self, provider_id: str) -> dict[str, Any]:
        p = self._providers.get(provider_id)
        if p is None:
            near = difflib.get_close_matches(provider_id, list(self._providers), n=3, cutoff=0.7)
            hint = f"; did you mean {', '.join(repr(x) for x in near)}?" if near else ""
            raise NotFound(f"Provider '{provider_id}' not found{hint}")
        return p

    def _hits(self, provider_id: str, model_id: str, category: str | None = None) -> list[_Indexed]:
        self._provider(provider_id)
        hits = self._index.get((provider_id, model_id))
        if not hits:
            near = self.closest(provider_id, model_id, category)
            hint = f"; closest known ids at {provider_id}: {', '.join(near)}" if near else ""
            raise NotFound(f"Model '{provider_id}/{model_id}' not found{hint}")
        return hits


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


# ----- loading ---------------------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read catalog file: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: a catalog file holds one JSON object (a provider)")
    data.setdefault("id", path.stem)
    return data


def _check_models(provider: dict[str, Any], where: str) -> None:
    """Every entry against the schema; the error names the file, the model and the field."""
    pid = provider["id"]
    for category in CATEGORIES:
        models = provider.get(category)
        if not isinstance(models, list):
            raise CatalogError(f"{where}: provider '{pid}' field '{category}' must be a list of models")
        for i, m in enumerate(models):
            if not isinstance(m, dict):
                raise CatalogError(f"{where}: {pid}.{category}[{i}] must be an object")
            name = m.get("modelName")
            if not isinstance(name, str) or not name:
                raise CatalogError(f"{where}: {pid}.{category}[{i}] needs a non-empty string 'modelName'")
            problem = schema.model_problem(category, m)
            if problem:
                raise CatalogError(f"{where}: {pid}.{category} model '{name}': {problem}")


def _normalise(provider: dict[str, Any], where: str) -> dict[str, Any]:
    pid = provider.get("id")
    if not isinstance(pid, str) or not pid or "/" in pid:
        raise CatalogError(f"{where}: provider 'id' must be a non-empty string without '/'")
    problem = schema.provider_problem(provider)
    if problem:
        raise CatalogError(f"{where}: provider '{pid}': {problem}")
    for category in CATEGORIES:
        provider.setdefault(category, [])
    _check_models(provider, where)
    return provider


#: What an operator's text model that does not state a capability is taken to have: none (the gateway then
#: refuses tools, images, PDFs, JSON schemas and reasoning efforts for it rather than sending them blind).
OPERATOR_CAPABILITY_DEFAULTS: dict[str, Any] = {
    "supportsTools": False,
    "supportsVision": False,
    "supportsPdf": False,
    "supportsJsonSchema": False,
    "reasoningEfforts": [],
    "upstreamApi": "chat_completions",
}


def _fill_capabilities(data: dict[str, Any], shipped: dict[str, Any] | None) -> None:
    """Operator files may leave out capability flags (shipped files may not): a model that overrides a shipped
    one keeps the shipped model's flags, a new model gets OPERATOR_CAPABILITY_DEFAULTS, written into the entry
    so the Models endpoints show what the gateway assumes."""
    models = data.get("text_completions")
    if not isinstance(models, list):
        return
    known = {m["modelName"]: m for m in (shipped or {}).get("text_completions", [])}
    for m in models:
        if isinstance(m, dict):
            base = known.get(m.get("modelName"), OPERATOR_CAPABILITY_DEFAULTS)
            for flag in schema.CAPABILITY_FLAGS:
                if flag not in m:
                    m[flag] = copy.deepcopy(base.get(flag, OPERATOR_CAPABILITY_DEFAULTS[flag]))


def _check_references(provider: dict[str, Any], where: str) -> None:
    """Names within a category are unique (a model's name or alias cannot shadow another model) and every
    `replacement` names a model of the same provider and category."""
    pid = provider["id"]
    for category in CATEGORIES:
        owner: dict[str, str] = {}
        for m in provider[category]:
            for key in dict.fromkeys(model_keys(m)):
                if owner.setdefault(key, m["modelName"]) != m["modelName"]:
                    raise CatalogError(
                        f"{where}: {pid}.{category} model '{m['modelName']}': name '{key}' is already "
                        f"used by model '{owner[key]}'"
                    )
        for m in provider[category]:
            replacement = m.get("replacement")
            if replacement is not None and replacement not in owner:
                raise CatalogError(
                    f"{where}: {pid}.{category} model '{m['modelName']}': field 'replacement': "
                    f"'{replacement}' is not a {category} model of {pid}"
                )


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`: provider fields replaced; per category a model with the same modelName is replaced in
    place and other models are appended."""
    merged = dict(base)
    for key, value in extra.items():
        if key not in CATEGORIES:
            merged[key] = value
    for category in CATEGORIES:
        models = list(base.get(category, []))
        position = {m["modelName"]: i for i, m in enumerate(models)}
        for m in extra.get(category, []):
            i = position.get(m["modelName"])
            if i is None:
                position[m["modelName"]] = len(models)
                models.append(m)
            else:
                models[i] = m
        merged[category] = models
    return merged


def load_catalog(
    extra_dir: str | None = None,
    *,
    shipped_dir: str | Path | None = None,
    today: Callable[[], dt.date] = lifecycle.today_utc,
) -> Catalog:
    """Shipped providers, then every `*.json` of `extra_dir` over them (see the module docstring).

    `extra_dir` is the operator's HUB_CATALOG_DIR (settings.catalog_dir); a set but missing directory is an
    error, so a typo does not silently serve the shipped catalog. Malformed files raise CatalogError naming
    the file, the model and the field.
    """
    providers: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(shipped_dir or SHIPPED_DIR).glob("*.json")):
        p = _normalise(_read(path), str(path))
        if p["id"] in providers:
            raise CatalogError(f"{path}: provider '{p['id']}' is shipped twice")
        _check_references(p, str(path))
        providers[p["id"]] = p
    if extra_dir:
        directory = Path(extra_dir)
        if not directory.is_dir():
            raise CatalogError(f"HUB_CATALOG_DIR '{extra_dir}' is not a directory")
        for path in sorted(directory.glob("*.json")):
            data = _read(path)
            # Check the models of the file itself before merging, so errors name the right file.
            for category in CATEGORIES:
                data.setdefault(category, [])
            _fill_capabilities(data, providers.get(data["id"]))
            _normalise(data, str(path))
            pid = data["id"]
            providers[pid] = _normalise(_merge(providers[pid], data), str(path)) if pid in providers else data
            _check_references(providers[pid], str(path))
    return Catalog(providers.values(), today=today)
