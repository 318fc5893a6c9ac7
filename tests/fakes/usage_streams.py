"""Answers that cost a chosen number of tokens (the `usage` of `response.completed`)."""

from __future__ import annotations

from typing import Any

from tests.fakes.responses_api import Events, Script, split_words, stream_of


def costing(text: str, total: int, *, output: int | None = None) -> Script:
    """A streamed answer whose completed response reports `total` tokens."""
    output = total // 4 if output is None else output

    def make(ev: Events) -> list[dict[str, Any]]:
        completed = ev.completed(text)
        completed["response"]["usage"] = {
            "input_tokens": total - output,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": total,
        }
        return [
            *ev.opening(),
            *(ev.delta(chunk) for chunk in split_words(text)),
            *ev.closing(text, "completed"),
            completed,
        ]

    return stream_of(make, label=f"costing({text[:20]!r}, {total})")
