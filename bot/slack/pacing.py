"""Coalesce a growing text into edits: at most one per interval, the newest text each time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.conversation.delivery import ShownText
from bot.slack.budget import Deferred
from bot.slack.calls import RateLimited

log = logging.getLogger(__name__)


class Pacer:
    """Sends the latest offered text through `write`, never faster than `interval`.

    The first text goes out at once; later ones wait out the interval, and
    whatever arrived meanwhile is sent as one edit. A 429 pauses for its
    `Retry-After`, then the newest text is sent (stale ones are dropped). The
    interval may change as the answer goes (`interval` called before each pause),
    and an edit the workspace's Slack budget defers is sent when it says. A text may
    be offered as a function that makes it, called only when it is sent (offers that
    change often, such as the model's progress, cost nothing between two edits).
    """

    def __init__(
        self, write: Callable[[str], Awaitable[object]], interval: float | Callable[[], float]
    ) -> None:
        self._write = write
        self._interval: Callable[[], float] = (
            interval if callable(interval) else (lambda: float(interval))
        )
        self._latest: str | Callable[[], str] | None = None
        self._dirty = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._limited_until = 0.0  # loop time a 429's Retry-After runs to
        self.sent = ""  # the last text Slack accepted
        self.watcher: ShownText | None = None

    def offer(self, text: str | Callable[[], str]) -> None:
        self._latest = text
        self._dirty.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Stop editing; an edit under way finishes first, and a 429's Retry-After runs out,
        so the caller's final write is not sent into the rate limit."""
        self._closing.set()
        self._dirty.set()
        if self._task is not None:
            await self._task
        # Closed for good: let go of the owner's methods, which would otherwise keep it,
        # this pacer and all they hold in a reference cycle for the garbage collector.
        self._write, self._interval, self.watcher = _closed, _no_pause, None
        remaining = self._limited_until - asyncio.get_running_loop().time()
        if remaining > 0:
            await asyncio.sleep(remaining)

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0 or self._closing.is_set():
            return
        # asyncio.timeout rather than wait_for: no task of its own for every pause.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            if self._closing.is_set():
                return
            self._dirty.clear()
            latest = self._latest
            text = latest() if callable(latest) else latest or ""
            try:
                if self.watcher is not None:
                    await self.watcher.showing(text)  # kept before Slack shows it
                await self._write(text)
                self.sent = text
            except RateLimited as limited:
                self._limited_until = asyncio.get_running_loop().time() + limited.retry_after
                self._dirty.set()  # the text still needs showing
                await self._pause(limited.retry_after)
                continue
            except Deferred as deferred:
                self._dirty.set()  # the text still needs showing, when the budget has room
                await self._pause(max(deferred.wait, self._interval()))
                continue
            except Exception as error:  # an interim edit may fail; the final write matters
                log.warning("an interim edit failed: %s", type(error).__name__)
            await self._pause(self._interval())


async def _closed(_text: str) -> None:
    """A closed pacer's write: nothing is sent after close."""


def _no_pause() -> float:
    return 0.0
