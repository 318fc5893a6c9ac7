"""The turn queue once the bot is stopping: nothing new starts with closed clients."""

from __future__ import annotations

import asyncio

from bot.conversation.queue import TurnQueue
from bot.conversation.turn import Turn


class Silent:
    """A delivery that notes what it was asked to show."""

    def __init__(self) -> None:
        self.finished: list[str | None] = []

    async def finish(self, text: str, notice: str | None = None, **_: object) -> None:
        self.finished.append(notice)


async def test_a_turn_submitted_after_close_is_left_for_the_next_start() -> None:
    answered: list[str] = []

    async def answer(turn: Turn, delivery: object) -> None:
        answered.append(turn.key)

    queue = TurnQueue(answer, answer)
    turn = Turn("T1", "C1", "1.0", "U1", "1.0", "late")
    await queue.close()
    delivery = Silent()
    # A listener acknowledged before the stop may hand its turn over only now: it is kept
    # in the database already, so the next start answers it; this process must not.
    queue.submit(turn, delivery)  # type: ignore[arg-type]
    await asyncio.wait_for(queue.idle(), 1)
    assert answered == [] and delivery.finished == []
