"""How many answers may run at once, adapted to how busy the event loop is.

Slack's acknowledgements share the event loop with answer work; when answers
keep the loop busy, acks wait. So the number of answers running adapts:
while the loop runs its callbacks late (lag over `lag_limit`), the limit
shrinks; while it is light, the limit grows back to `most`. Turns over the
limit wait in the TurnQueue; acks stay fast.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class AdaptiveLimit:
    def __init__(
        self, most: int, *, least: int = 4, lag_limit: float = 0.02, period: float = 0.1
    ) -> None:
        self.most = most
        self.least = min(least, most)
        self.limit = most
        self.running = 0
        self._lag_limit = lag_limit
        self._period = period
        self._room = asyncio.Condition()
        self._watcher: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Held while one answer runs."""
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())
        async with self._room:
            await self._room.wait_for(lambda: self.running < self.limit)
            self.running += 1
        try:
            yield
        finally:
            async with self._room:
                self.running -= 1
                self._room.notify(1)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self._period)
            lag = loop.time() - before - self._period
            await self.adjust(lag)

    async def adjust(self, lag: float) -> None:
        """Shrink the limit quickly under lag, grow it back one at a time."""
        async with self._room:
            if lag > self._lag_limit:
                self.limit = max(self.least, int(self.limit * 0.7))
            elif self.limit < self.most:
                self.limit += 1
                self._room.notify(1)

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
