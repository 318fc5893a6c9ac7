"""Answers no worker is finishing: found, taken over, and finished.

Every few seconds this worker renews the leases of the answers it is at work
on, and takes over answers whose lease ran out: left by a crashed or stopped
worker (or an earlier run of this one), or whose final write Slack did not
take. Each is queued behind its thread's other turns and finished in the same
Slack message (see `Conversation.resume`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.conversation.answer import Conversation, turn_of
from bot.conversation.delivery import Delivery
from bot.conversation.queue import TurnQueue
from bot.conversation.turn import Turn
from bot.store.live import LiveAnswers, LiveRow

log = logging.getLogger(__name__)

# Builds the delivery of a taken-over answer from its turn, its route (how it is
# delivered) and its place (where it is shown); None when it cannot be delivered.
# It may need I/O (e.g. to find the workspace's Slack token).
Restore = Callable[[Turn, dict[str, Any], dict[str, Any]], Awaitable[Delivery | None]]


class Resumer:
    def __init__(
        self,
        live: LiveAnswers,
        conversation: Conversation,
        queue: TurnQueue,
        restore: Restore,
        *,
        period: float,
    ) -> None:
        self._live = live
        self._conversation = conversation
        self._queue = queue
        self._restore = restore
        self._period = period

    async def run(self) -> None:
        while True:
            try:
                await self.look()
            except Exception as error:  # the database may be briefly away; look again soon
                log.warning("looking for answers to finish failed: %s", type(error).__name__)
            await asyncio.sleep(self._period)

    async def look(self) -> int:
        """Renew this worker's leases, then take over what no one is finishing."""
        if self._conversation.holding:
            await self._live.renew(set(self._conversation.holding))
        taken = await self._live.take_over()
        for row in taken:
            await self._finish(row)
        if taken:
            log.info("took over %d unfinished answer(s)", len(taken))
        return len(taken)

    async def _finish(self, row: LiveRow) -> None:
        turn = turn_of(row)
        delivery = await self._restore(
            turn, row.turn.get("route") or {}, row.progress.get("place") or {}
        )
        if delivery is None:
            log.warning("an unfinished answer cannot be delivered from here; dropping it")
            self._queue.spawn(self._live.drop(row.key))
            return
        self._conversation.took_over(row)
        self._queue.submit(turn, delivery, lambda: self._conversation.resume(row, delivery))
