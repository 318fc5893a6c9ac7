"""Who may ask, how much, and with which parameters: decided once per turn, before the
model is called, by the policy the core is handed (allow-lists, budgets, channel
settings). The core knows only this small interface."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from bot.conversation.parameters import Parameters
from bot.conversation.turn import Turn
from bot.responses.events import Usage
from bot.store.database import Work


@dataclass(frozen=True)
class Refusal:
    """The turn is not answered; `text` is told to the asker alone."""

    text: str


# What a policy's read hands back: called on the event loop once the read is done.
HandOver = Callable[[], None]


class Policy(Protocol):
    def prepare(self, turn: Turn) -> Work[HandOver] | None:
        """A read `admit` will need, for the core to make in the transaction that starts
        the answer (one transaction fewer); what it returns hands what was read to the
        policy before `admit`. None: nothing to read now."""

    async def admit(self, turn: Turn, parameters: Parameters) -> Parameters | Refusal:
        """The parameters to answer `turn` with (the defaults, overridden where a
        workspace or channel says so), or why it is not answered."""

    def spent(self, turn: Turn, model: str, usage: Usage) -> Work[None] | None:
        """What one response of the answer cost (every round counts): the database write
        that counts it, or None. The core runs it in the transaction that ends the answer
        (the turn recorded), or in one of its own when another response follows."""


class Open:
    """Everyone may ask, without limit, with the defaults."""

    def prepare(self, turn: Turn) -> Work[HandOver] | None:
        return None

    async def admit(self, turn: Turn, parameters: Parameters) -> Parameters | Refusal:
        return parameters

    def spent(self, turn: Turn, model: str, usage: Usage) -> Work[None] | None:
        return None


def both(first: Work[None] | None, then: Work[None] | None) -> Work[None] | None:
    """Two writes as one (either may be None)."""
    if first is None or then is None:
        return first or then

    def work(conn: Connection) -> None:
        first(conn)
        then(conn)

    return work


class Policies:
    """Several policies in order: each may override the parameters the one before
    admitted; the first refusal stands."""

    def __init__(self, *policies: Policy) -> None:
        self._policies = policies

    def prepare(self, turn: Turn) -> Work[HandOver] | None:
        reads = [read for p in self._policies if (read := p.prepare(turn)) is not None]
        if len(reads) <= 1:
            return reads[0] if reads else None

        def work(conn: Connection) -> HandOver:
            handed = [read(conn) for read in reads]

            def hand_over() -> None:
                for each in handed:
                    each()

            return hand_over

        return work

    async def admit(self, turn: Turn, parameters: Parameters) -> Parameters | Refusal:
        for policy in self._policies:
            decision = await policy.admit(turn, parameters)
            if isinstance(decision, Refusal):
                return decision
            parameters = decision
        return parameters

    def spent(self, turn: Turn, model: str, usage: Usage) -> Work[None] | None:
        write = None
        for policy in self._policies:
            write = both(write, policy.spent(turn, model, usage))
        return write
