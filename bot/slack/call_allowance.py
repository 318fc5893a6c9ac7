"""How many Slack calls an answer may have made by now: 2 + elapsed ÷ interval.

An answer's message costs a first call (the post, or a stream's start), one call
per interval while it streams, and its final write. The allowance says how long
the next interim call must wait so that, whenever the answer ends, its calls stay
within `2 + seconds since it started ÷ interval`, its final call(s) (`reserve`)
included. The first call is never held back: people see at once that an answer
is coming.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# The longest the first call waits for the model's first text before a placeholder
# ("Thinking…", or an empty stream with its Stop button) is shown instead.
FIRST_TEXT_WAIT = 1.0


def placeholder_after(interval: float) -> float:
    """Seconds the first call waits for text: one interval (then the text that follows a
    placeholder needs no wait of its own), at most FIRST_TEXT_WAIT."""
    return min(interval, FIRST_TEXT_WAIT)


class Opening:
    """The first call waits a moment for the model's first text (`offered`); if none has
    come by then, the placeholder is shown instead."""

    __slots__ = ("_timer", "offered")

    def __init__(self) -> None:
        self._timer: asyncio.TimerHandle | None = None
        self.offered = False  # something was given to the pacer to show

    def wait(self, interval: float, placeholder: Callable[[], None]) -> None:
        def moment_passed() -> None:
            self._timer = None
            if not self.offered:
                placeholder()

        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(placeholder_after(interval), moment_passed)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class CallAllowance:
    __slots__ = ("_interval", "_made", "_reserve", "_start")

    def __init__(self, interval: float, *, reserve: int = 1) -> None:
        self._start = asyncio.get_running_loop().time()
        self._interval = interval
        self._reserve = reserve  # calls the end of the answer needs (final write, stop)
        self._made = 0  # interim calls made: the first, and the edits or appends after it

    def made(self) -> None:
        self._made += 1

    def wait(self) -> float:
        """Seconds until one more interim call fits the allowance."""
        if not self._made:
            return 0.0
        due = self._start + (self._made + self._reserve - 1) * self._interval
        return max(due - asyncio.get_running_loop().time(), 0.0)
