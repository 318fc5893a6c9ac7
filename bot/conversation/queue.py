"""Turns wait here: in order within a thread, concurrently across threads, bounded.

Slack's acknowledgement never waits on this: `submit` only enqueues.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.conversation import notices
from bot.conversation.delivery import Delivery
from bot.conversation.load import AdaptiveLimit
from bot.conversation.turn import Turn

log = logging.getLogger(__name__)

Answerer = Callable[[Turn, Delivery], Awaitable[None]]


class TurnQueue:
    def __init__(self, answer: Answerer, *, max_running: int = 64, max_waiting: int = 2000) -> None:
        self._answer = answer
        self._running = AdaptiveLimit(max_running)
        self._max_waiting = max_waiting
        self._threads: dict[tuple[str, str, str], deque[tuple[Turn, Delivery]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, turn: Turn, delivery: Delivery) -> None:
        if self._waiting >= self._max_waiting:
            log.warning("too many answers waiting; turning one away")
            self._spawn(delivery.finish("", notices.BUSY))
            return
        self._waiting += 1
        self._idle.clear()
        pending = self._threads.get(turn.thread)
        if pending is not None:
            pending.append((turn, delivery))  # the thread's drain task will take it
            return
        self._threads[turn.thread] = deque([(turn, delivery)])
        self._spawn(self._drain(turn.thread))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("an answer task failed", exc_info=task.exception())
        if not self._tasks:
            self._idle.set()

    async def _drain(self, thread: tuple[str, str, str]) -> None:
        pending = self._threads[thread]
        try:
            while pending:
                turn, delivery = pending.popleft()
                self._waiting -= 1
                async with self._running.slot():
                    await self._answer_safely(turn, delivery)
        finally:
            del self._threads[thread]

    async def _answer_safely(self, turn: Turn, delivery: Delivery) -> None:
        # An exception in one answer never touches another, and never means silence.
        try:
            await self._answer(turn, delivery)
        except asyncio.CancelledError:
            # The bot is stopping before this answer finished: say so, keep the text.
            await self._tell(delivery, notices.INTERRUPTED, shield=True)
            raise
        except Exception:
            log.exception("answering a turn failed")
            await self._tell(delivery, notices.UNEXPECTED)

    @staticmethod
    async def _tell(delivery: Delivery, notice: str, *, shield: bool = False) -> None:
        finish = delivery.finish("", notice)  # "" keeps the text already shown
        try:
            await (asyncio.shield(finish) if shield else finish)
        except Exception:
            log.exception("could not tell the user that answering failed")

    async def idle(self) -> None:
        """Return once nothing is waiting or running."""
        await self._idle.wait()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._running.close()
