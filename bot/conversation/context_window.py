"""Keeping a long thread inside the model's context window.

Requests ask the API to manage it: `compaction` (context_management) by
default, or the older `truncation: "auto"`. An endpoint that refuses one
(a proxy that does not know the field) is asked with the next weaker one.
"""

from __future__ import annotations

from typing import Any

from bot.responses.errors import ModelError, ModelRejected

WEAKER = {"compaction": "truncation", "truncation": "off"}


def fields(mode: str, compact_threshold: int) -> dict[str, Any]:
    if mode == "compaction":
        return {
            "context_management": [{"type": "compaction", "compact_threshold": compact_threshold}]
        }
    if mode == "truncation":
        return {"truncation": "auto"}
    return {}


def refused(error: ModelError, mode: str) -> bool:
    """The endpoint rejected the request because of the field `mode` adds."""
    if not isinstance(error, ModelRejected) or error.status != 400 or mode == "off":
        return False
    field = "context_management" if mode == "compaction" else "truncation"
    return field in error.message or field in error.code
