"""API key material and access tokens: generation, hashing, masking, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain import access_tokens, keys

SECRET_A = "a" * 48
SECRET_B = "b" * 48


def test_generated_keys_are_prefixed_random_and_long() -> None:
    made = {keys.generate_key() for _ in range(200)}
    assert len(made) == 200
    for key in made:
        assert key.startswith("ihk_")
        assert len(key) - len("ihk_") >= 32
        assert keys.looks_like_key(key)
    assert not keys.looks_like_key("sk-openai-style")


def test_hash_is_stable_hex_and_not_the_key() -> None:
    key = keys.generate_key()
    digest = keys.hash_key(key)
    assert digest == keys.hash_key(key)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert key not in digest
    assert keys.hash_key(key + "x") != digest


def test_mask_shows_prefix_and_last_four_only() -> None:
    key = "ihk_" + "A" * 39 + "wxyz"
    masked = keys.mask_key(key)
    assert masked == "ihk_****wxyz"
    assert "A" not in masked


def test_expiry_in_days_and_never() -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    assert keys.expiry(created, None) is None
    expires = keys.expiry(created, 30)
    assert expires == created + timedelta(days=30)
    assert not keys.is_expired(None, created + timedelta(days=10_000))
    assert not keys.is_expired(expires, expires - timedelta(seconds=1))
    assert keys.is_expired(expires, expires)


def test_access_tokens_verify_and_reject_tampering_expiry_and_other_secrets() -> None:
    token = access_tokens.issue(SECRET_A, user_id=7, api_key_id=42, ttl_seconds=60)
    assert access_tokens.verify(SECRET_A, token) == (7, 42)
    assert access_tokens.verify(SECRET_B, token) is None
    assert access_tokens.verify(SECRET_A, token[:-2] + ("aa" if not token.endswith("aa") else "bb")) is None
    expired = access_tokens.issue(SECRET_A, user_id=7, api_key_id=42, ttl_seconds=-1)
    assert access_tokens.verify(SECRET_A, expired) is None
    assert access_tokens.verify(SECRET_A, "not-a-token") is None


def test_short_jwt_secrets_are_refused() -> None:
    import pytest
    from pydantic import ValidationError

    from server.config import Settings

    with pytest.raises(ValidationError):
        Settings(jwt_secret="too-short")
    assert Settings(jwt_secret="k" * 32).resolved_jwt_secret() == "k" * 32
