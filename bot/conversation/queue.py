"""Turns wait here: in order within a thread, concurrently across threads, bounded.

Slack's acknowledgement never waits on this: `submit` only enqueues. Every turn
here is also kept in the database (accepted before it is queued), so what is
still waiting when the bot stops is answered by the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from bot.conversation import notices
from bot.conversation.delivery import Delivery
from bot.conversation.load import AdaptiveLimit
from bot.conversation.turn import Turn

log = logging.getLogger(__name__)

Answerer = Callable[[Turn, Delivery], Awaitable[None]]
Job = Callable[[], Awaitable[None]]


class TurnQueue:
    def __init__(
        self,
        answer: Answerer,
        turn_away: Answerer,
        *,
        max_running: int = 64,
        max_waiting: int = 2000,
    ) -> None:
        self._answer = answer
        self._turn_away = turn_away
        self._running = AdaptiveLimit(max_running)
        self._max_waiting = max_waiting
        self._threads: dict[tuple[str, str, str], deque[tuple[Delivery, Job]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting = 0
        self._accepting = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    def submit(self, turn: Turn, delivery: Delivery, job: Job | None = None) -> None:
        """Queue the turn's answer (or `job`, e.g. resuming one) behind its thread's others."""
        if self._closed:
            # Accepted by a listener that ran on after the stop began: the turn is kept in
            # the database, and the next start (or another worker) answers it.
            log.info("stopping: leaving a turn for the next start")
            return
        if self._waiting >= self._max_waiting:
            log.warning("too many answers waiting; turning one away")
            self.spawn(self._safely(delivery, lambda: self._turn_away(turn, delivery)))
            return
        self._waiting += 1
        self._idle.clear()
        work = job or (lambda: self._answer(turn, delivery))
        pending = self._threads.get(turn.thread)
        if pending is not None:
            pending.append((delivery, work))  # the thread's drain task will take it
            return
        self._threads[turn.thread] = deque([(delivery, work)])
        self.spawn(self._drain(turn.thread))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a tracked task (awaited on close)."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("an answer task failed", exc_info=task.exception())
        if not self._tasks and not self._accepting:
            self._idle.set()

    async def _drain(self, thread: tuple[str, str, str]) -> None:
        pending = self._threads[thread]
        try:
            while pending:
                delivery, work = pending.popleft()
                self._waiting -= 1
                async with self._running.slot():
                    await self._safely(delivery, work)
        finally:
            del self._threads[thread]

    @staticmethod
    async def _safely(delivery: Delivery, work: Job) -> None:
        # An exception in one answer never touches another, and never means silence.
        # (A cancelled one, when the bot stops, is left in the database for the next start.)
        try:
            await work()
        except Exception:
            log.exception("answering a turn failed")
            try:
                await delivery.finish("", notices.UNEXPECTED)  # "" keeps the text shown
            except Exception:
                log.exception("could not tell the user that answering failed")

    @contextlib.asynccontextmanager
    async def intake(self) -> AsyncIterator[None]:
        """Held while a turn is being accepted (kept in the database) before `submit`: the
        queue is not idle meanwhile."""
        self._accepting += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._accepting -= 1
            if not self._accepting and not self._tasks:
                self._idle.set()

    async def idle(self) -> None:
        """Return once nothing is being accepted, waiting or running."""
        await self._idle.wait()

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._running.close()
