"""Reading an OpenAI JSON body: parse it, check each field's type and range, refuse what we do not know.

Every problem is a `ValidationFailed` located at `["body", field]`, which the OpenAI error style answers as a
400 with `param` set, as OpenAI does. Unknown top-level fields are refused like OpenAI refuses them
("Unrecognized request argument supplied"), so a caller never believes an ignored option took effect.
"""

from __future__ import annotations

from typing import Any

import orjson

from server.errors import ValidationFailed

_MISSING = object()


def parse_object(data: bytes) -> dict[str, Any]:
    """The body as a JSON object; 400 for malformed JSON or anything but an object."""
    try:
        value = orjson.loads(data or b"")
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed.single(
            ["body"], f"We could not parse the JSON body of your request: {exc}", "json_invalid"
        ) from None
    if not isinstance(value, dict):
        raise ValidationFailed.single(["body"], "The request body must be a JSON object", "type_error")
    return value


class Body:
    """Typed access to the fields of one request body; `done()` refuses the fields nobody read."""

    def __init__(self, data: dict[str, Any], ignored: frozenset[str] = frozenset()):
        self.data = data
        self.seen: set[str] = set(ignored)
        self.errors: list[dict[str, Any]] = []

    def fail(self, name: str | list, msg: str, type_: str = "invalid_value") -> None:
        loc = ["body", *(name if isinstance(name, list) else [name])]
        self.errors.append({"loc": loc, "msg": msg, "type": type_})

    def raw(self, name: str) -> Any:
        """The value or None (absent and JSON null are the same, as in OpenAI's API)."""
        self.seen.add(name)
        return self.data.get(name)

    def required(self, name: str) -> Any:
        value = self.raw(name)
        if value is None:
            self.fail(name, f"Missing required parameter: '{name}'.", "missing_required_parameter")
        return value

    def string(self, name: str, *, required: bool = False, choices: tuple[str, ...] | None = None) -> str | None:
        value = self.required(name) if required else self.raw(name)
        if value is None:
            return None
        if not isinstance(value, str) or (required and not value):
            self.fail(name, f"Invalid type for '{name}': expected a non-empty string.", "invalid_type")
            return None
        if choices is not None and value not in choices:
            self.fail(name, f"Invalid value: '{value}'. Supported values are: {', '.join(choices)}.", "invalid_value")
            return None
        return value

    def number(self, name: str, lo: float, hi: float) -> float | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(name, f"Invalid type for '{name}': expected a number.", "invalid_type")
            return None
        if not lo <= value <= hi:
            self.fail(name, f"Invalid '{name}': must be between {lo:g} and {hi:g}.", "invalid_value")
            return None
        return float(value)

    def integer(self, name: str, lo: int = 1, hi: int = 2**31 - 1) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"Invalid type for '{name}': expected an integer.", "invalid_type")
            return None
        if not lo <= value <= hi:
            self.fail(name, f"Invalid '{name}': must be between {lo} and {hi}.", "invalid_value")
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.raw(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(name, f"Invalid type for '{name}': expected a boolean.", "invalid_type")
            return None
        return value

    def obj(self, name: str) -> dict[str, Any] | None:
        value = self.raw(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(name, f"Invalid type for '{name}': expected an object.", "invalid_type")
            return None
        return value

    def array(self, name: str, *, required: bool = False) -> list[Any] | None:
        value = self.required(name) if required else self.raw(name)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(name, f"Invalid type for '{name}': expected an array.", "invalid_type")
            return None
        return value

    def done(self) -> None:
        for name in self.data:
            if name not in self.seen:
                self.fail(name, f"Unrecognized request argument supplied: {name}", "unknown_parameter")
        if self.errors:
            raise ValidationFailed(self.errors)
