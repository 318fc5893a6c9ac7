"""`python -m bot usage`, as operators read it: a table of tokens by day, user, channel and
model. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.store.usage import UsageRow

NUMBERS = ("answers", "/ask", "input", "output", "total")


def period(days: int, today: date) -> str:
    return "today (UTC)" if days == 1 else f"the last {days} days (UTC, today included)"


def usage_table(rows: Sequence[UsageRow], *, days: int, today: date) -> str:
    if not rows:
        return f"No model usage in {period(days, today)}."
    teams = len({row.team_id for row in rows}) > 1
    names = ["day", *(["workspace"] if teams else []), "user", "channel", "model", *NUMBERS]
    lines = [
        [
            row.day.isoformat(),
            *([row.team_id] if teams else []),
            row.user_id,
            row.channel_id,
            row.model or "?",
            *(f"{n:,}" for n in numbers(row)),
        ]
        for row in rows
    ]
    sums = [sum(numbers(row)[i] for row in rows) for i in range(len(NUMBERS))]
    total = ["total", *[""] * (len(names) - len(NUMBERS) - 1), *(f"{n:,}" for n in sums)]
    widths = [max(len(line[i]) for line in [names, *lines, total]) for i in range(len(names))]
    text_columns = len(names) - len(NUMBERS)

    def render(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join(
        [
            f"Tokens by day, user, channel and model, {period(days, today)}:",
            "",
            render(names),
            rule,
            *(render(line) for line in lines),
            rule,
            render(total),
        ]
    )


def numbers(row: UsageRow) -> tuple[int, int, int, int, int]:
    return row.answers, row.asks, row.input_tokens, row.output_tokens, row.total_tokens
