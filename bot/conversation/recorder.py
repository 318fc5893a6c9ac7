"""What the conversation core tells whoever keeps its numbers (bot/metrics.py).

The core knows nothing of Prometheus: it is handed a Recorder (by default one
that keeps nothing) and says what happened, where it happens.

Times are from the moment the turn was accepted (its Slack event taken on, just
before the acknowledgement), on this process's monotonic clock: the user's message
`ts` is on Slack's clock, and a `/ask` has none. Slack's own delivery delay before
that moment is not in them. Answers resumed after a restart are counted but not timed.
"""

from __future__ import annotations

from typing import Protocol

from bot.responses.errors import ModelRejected, ModelStalled, ModelStreamBroken, ModelUnavailable

# How an answer ended, as `bot_answers_total{outcome}` counts it.
OUTCOMES = ("completed", "incomplete", "failed", "stopped", "error", "refused")


class Recorder(Protocol):
    def answered(self, outcome: str, seconds: float | None) -> None:
        """An answer ended (one of OUTCOMES), `seconds` after its turn was accepted (None
        when it was not accepted by this process)."""

    def first_text(self, seconds: float) -> None:
        """An answer's first text went out to be shown, `seconds` after acceptance."""

    def model_error(self, code: str) -> None:
        """A call to the model failed, or a response ended as failed, with `code`."""

    def writing(self, change: int) -> None:
        """An answer began (+1) or stopped (-1) streaming from the model."""


class NoRecorder:
    def answered(self, outcome: str, seconds: float | None) -> None:
        pass

    def first_text(self, seconds: float) -> None:
        pass

    def model_error(self, code: str) -> None:
        pass

    def writing(self, change: int) -> None:
        pass


def error_code(error: Exception) -> str:
    """A model error as a short label: the API's code, else its HTTP status, else its kind."""
    code = getattr(error, "code", "")
    if code:
        return str(code)
    status = getattr(error, "status", 0)
    if status:
        return f"http_{status}"
    if isinstance(error, ModelStalled):
        return "stalled"
    if isinstance(error, ModelUnavailable):
        return "unreachable"
    if isinstance(error, ModelStreamBroken):
        return "stream_broken"
    if isinstance(error, ModelRejected):
        return "rejected"
    return type(error).__name__
