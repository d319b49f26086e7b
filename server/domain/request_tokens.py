"""The prompt size of an agentic chat request, for the reservation and for billing when usage is missing:
message text (tiktoken), tool definitions and earlier tool-call arguments (tiktoken on their JSON), and
images / PDFs by each provider's documented formula at its worst case (the gateway does not decode images)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from server.domain import tokens
from server.providers.base import ChatParams

# The most tokens one image can cost (image sizes are not decoded, so the worst case is billed when the
# provider reports no usage): OpenAI high detail 85 + 170 per 512px tile, at most 2048x768 after its scaling
# = 8 tiles; Anthropic (width*height)/750 at its ~1.15 megapixel cap = 1600; Gemini 3 high media resolution
# 1120. Low detail on OpenAI is a flat 85.
IMAGE_TOKENS = {"openai": 1445, "anthropic": 1600, "google": 1120}
LOW_DETAIL_TOKENS = 85
# PDFs: each page is read as text plus a page image; Anthropic documents 1500-3000 text tokens per page.
PDF_PAGE_TOKENS = {"openai": 3000 + 1445, "anthropic": 3000 + 1600, "google": 3000 + 258}
_PAGE = re.compile(rb"/Type\s*/Page(?![s\w])")
TOOL_OVERHEAD = 8  # per tool definition: the wrapper the provider renders it in


def pdf_pages(file_data: str) -> int:
    """Pages of an inline PDF (page objects counted); 1 for anything undecodable or remote."""
    if ";base64," not in file_data:
        return 1
    try:
        raw = base64.b64decode(file_data.split(";base64,", 1)[1], validate=False)
    except (binascii.Error, ValueError):
        return 1
    return max(1, len(_PAGE.findall(raw)))


def media_tokens(messages: list[dict[str, Any]], wire_format: str) -> int:
    total = 0
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "image_url":
                low = (part.get("image_url") or {}).get("detail") == "low" and wire_format == "openai"
                total += LOW_DETAIL_TOKENS if low else IMAGE_TOKENS.get(wire_format, 1600)
            elif kind == "file":
                pages = pdf_pages((part.get("file") or {}).get("file_data") or "")
                total += pages * PDF_PAGE_TOKENS.get(wire_format, 4600)
    return total


def tool_tokens(params: ChatParams) -> int:
    """Tool definitions plus the tool calls of earlier assistant turns (their names and JSON arguments)."""
    total = 0
    for tool in params.tools or []:
        total += TOOL_OVERHEAD + tokens.count_text(json.dumps(tool.get("function") or {}, separators=(",", ":")))
    for message in params.messages:
        for call in message.get("tool_calls") or []:
            fn = call.get("function") or {}
            total += (
                TOOL_OVERHEAD + tokens.count_text(fn.get("name") or "") + tokens.count_text(fn.get("arguments") or "")
            )
    if params.response_format and params.response_format.get("type") == "json_schema":
        total += tokens.count_text(json.dumps(params.response_format, separators=(",", ":")))
    return total


def count_prompt(params: ChatParams, wire_format: str) -> int:
    return tokens.count_messages(params.messages) + tool_tokens(params) + media_tokens(params.messages, wire_format)
