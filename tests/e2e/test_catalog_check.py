"""`python -m server catalog check` end to end: the real CLI against the fake providers' list-models APIs,
then the operator's day-one workflow: write the missing models, price one, serve it through Envoy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from server.providers.registry import PROVIDERS
from tests.e2e.conftest import bearer
from tests.harness import ROOT, Gateway, fake_requests, start_gateway


def per_provider_env(gateway: Gateway, **overrides: str) -> dict[str, str]:
    """The gateway's environment with each provider under its own path prefix of the fake (so each answers
    with its own model list), plus overrides."""
    env = dict(gateway.env)
    for pid, spec in PROVIDERS.items():
        root = f"{gateway.fake_base}/{pid}"
        env[f"{pid.upper()}_BASE_URL"] = f"{root}/v1" if spec.wire_format == "openai" else root
    env.update(overrides)
    return env


def check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server", "catalog", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def rows(stdout: str) -> set[tuple[str, str, str]]:
    """(provider, change, model) of every table row."""
    found = set()
    for line in stdout.splitlines():
        for change in ("missing from catalog", "no longer listed"):
            if f"  {change}  " in line:
                provider, rest = line.split(f"  {change}  ", 1)
                found.add((provider.strip(), change, rest.split()[0]))
    return found


def test_check_prints_the_drift_of_every_configured_provider(gateway: Gateway) -> None:
    done = check(per_provider_env(gateway))
    assert done.returncode == 1, done.stdout + done.stderr  # 1: drift found
    found = rows(done.stdout)
    assert ("openai", "missing from catalog", "gpt-6.2-sol") in found  # OpenAI GET /v1/models
    assert ("openai", "no longer listed", "text-embedding-ada-002") in found
    assert not any(m.startswith("ft:") for _, _, m in found)  # the account's fine-tunes are not drift
    assert ("anthropic", "missing from catalog", "claude-sonnet-5-6") in found  # Anthropic, first page
    assert ("anthropic", "no longer listed", "claude-opus-4-6") in found
    assert ("anthropic", "missing from catalog", "claude-opus-4-5-20251101") not in found  # on the last page
    assert ("google", "missing from catalog", "gemini-3.9-flash-preview") in found  # Gemini models.list
    assert ("google", "missing from catalog", "gemini-embedding-2") in found
    assert ("google", "no longer listed", "veo-3.1-lite-generate-preview") in found
    assert ("groq", "no longer listed", "meta-llama/llama-4-scout-17b-16e-instruct") in found
    assert ("local", "missing from catalog", "qwen3:8b") in found  # a provider the catalog does not ship
    assert not any(model == "gpt-4.1-nano" for _, _, model in found)  # retired: expected to be gone
    header = done.stdout.splitlines()[0].split()
    assert header == ["PROVIDER", "CHANGE", "MODEL", "NOTE"]
    listed = [
        r for r in fake_requests(gateway) if r["method"] == "GET" and r["path"].startswith("/anthropic/v1/models")
    ]
    assert listed and listed[-1]["headers"]["x-api-key"] == "sk-test-anthropic"  # the operator's key


def test_one_provider_unreachable_or_unknown(gateway: Gateway) -> None:
    env = per_provider_env(gateway, GROQ_BASE_URL="http://127.0.0.1:9/v1")
    done = check(env, "--provider", "groq")
    assert done.returncode == 2 and "error    groq: cannot reach http://127.0.0.1:9/v1/models" in done.stdout
    done = check(env, "--provider", "nosuch")
    assert done.returncode == 2 and "unknown provider 'nosuch'" in done.stdout
    done = check({**env, "DEEPSEEK_API_KEY": ""}, "--provider", "deepseek")
    assert done.returncode == 0 and "skipped  deepseek: no operator key (set DEEPSEEK_API_KEY)" in done.stdout


def test_write_then_price_a_new_model_and_serve_it_the_same_day(gateway: Gateway, tmp_path: Path) -> None:
    overrides = tmp_path / "catalog"
    env = per_provider_env(gateway)
    done = check(env, "--provider", "openai", "--write", str(overrides))
    assert done.returncode == 1 and "wrote 2 disabled entries to" in done.stdout, done.stdout + done.stderr
    data = json.loads((overrides / "openai.json").read_text())
    new = next(m for m in data["text_completions"] if m["modelName"] == "gpt-6.2-sol")
    assert new["is_disabled"] is True and "inputPricePer1MTokens" not in new
    again = check({**env, "HUB_CATALOG_DIR": str(overrides)}, "--provider", "openai", "--write", str(overrides))
    assert ("openai", "missing from catalog", "gpt-6.2-sol") not in rows(again.stdout)  # known now (disabled)
    assert json.loads((overrides / "openai.json").read_text()) == data  # nothing added twice

    # The operator fills in the launch price and capabilities and switches the model on.
    del new["is_disabled"]
    new.update(
        {
            "contextWindow": 1_050_000,
            "inputPricePer1MTokens": 3.0,
            "outputPricePer1MTokens": 12.0,
            "supportsTools": True,
        }
    )
    (overrides / "openai.json").write_text(json.dumps(data, indent=2))
    gw = start_gateway(extra_env={"HUB_CATALOG_DIR": str(overrides)})
    try:
        _, key = gw.create_user("day-one@example.com", 1)
        shown = httpx.get(f"{gw.api}/models/openai/gpt-6.2-sol", headers=bearer(key)).json()
        assert shown["inputPricePer1MTokens"] == 3.0 and shown["status"] == "active" and shown["is_disabled"] is False
        body = {"messages": [{"role": "user", "content": "day one"}], "model": "openai/gpt-6.2-sol", "max_tokens": 10}
        r = httpx.post(f"{gw.api}/chat/completions", headers=bearer(key), json=body, timeout=30)
        assert r.status_code == 200, r.text
        usage = r.json()["usage"]
        expected = (usage["input_tokens"] * 3.0 + usage["output_tokens"] * 12.0) / 1_000_000
        assert abs(usage["cost"] - expected) < 1e-9
        still_off = next(m for m in data["text_completions"] if m["modelName"] == "omni-moderation-latest")
        assert still_off["is_disabled"] is True
        r = httpx.post(
            f"{gw.api}/chat/completions",
            headers=bearer(key),
            json={**body, "model": "openai/omni-moderation-latest"},
            timeout=30,
        )
        assert r.status_code == 404 and r.json()["detail"] == (
            "Model 'openai/omni-moderation-latest' is not available (disabled)"
        )
    finally:
        gw.close()
