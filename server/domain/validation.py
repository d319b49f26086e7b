"""Request validation with FastAPI-style (HTTPValidationError) results: all problems at once, as a 422."""

from __future__ import annotations

import re
from typing import Any

from server.errors import ValidationFailed

MAX_API_KEY_CHARS = 1024
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


class Checker:
    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, loc: list, msg: str, type_: str = "value_error") -> None:
        self.errors.append({"loc": loc, "msg": msg, "type": type_})

    def between(self, name: str, value: float | None, lo: float, hi: float) -> None:
        if value is not None and not lo <= value <= hi:
            self.add(["body", name], f"Input should be between {lo:g} and {hi:g}", "value_error")

    def positive(self, name: str, value: int | None) -> None:
        if value is not None and value <= 0:
            self.add(["body", name], "Input should be greater than 0", "greater_than")

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def check_sampling(c: Checker, temperature, top_p, max_tokens, frequency_penalty, presence_penalty) -> None:
    c.between("temperature", temperature, 0, 2)
    c.between("top_p", top_p, 0, 1)
    c.positive("max_tokens", max_tokens)
    c.between("frequency_penalty", frequency_penalty, -2, 2)
    c.between("presence_penalty", presence_penalty, -2, 2)


def check_messages(c: Checker, messages: list[dict[str, Any]]) -> None:
    if not messages:
        c.add(["body", "messages"], "List of messages cannot be empty")
        return
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ROLES:
            c.add(
                ["body", "messages", i, "role"],
                f"Unknown role {role!r}: expected one of {', '.join(sorted(ROLES))}",
                "literal_error",
            )
        if message.get("content") is None and role not in ("assistant", "tool", "function"):
            c.add(["body", "messages", i, "content"], "Field required", "missing")


def check_byok_key(key: str | None) -> None:
    """A caller's own provider key travels in an HTTP header: printable ASCII without spaces, bounded in size
    (anything else would fail inside the HTTP client as an internal error)."""
    if key and (len(key) > MAX_API_KEY_CHARS or not _PRINTABLE_ASCII.fullmatch(key)):
        msg = f"API key must be printable ASCII without spaces, at most {MAX_API_KEY_CHARS} characters"
        raise ValidationFailed.single(["body", "byok_api_key"], msg, "string_pattern_mismatch")
