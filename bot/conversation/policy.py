"""Who may ask, how much, and with which parameters: decided once per turn, before the
model is called, by the policy the core is handed (allow-lists, budgets, channel
settings). The core knows only this small interface."""

from __future__ import annotations

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


class Policy(Protocol):
    async def admit(self, turn: Turn, parameters: Parameters) -> Parameters | Refusal:
        """The parameters to answer `turn` with (the defaults, overridden where a
        workspace or channel says so), or why it is not answered."""

    def spent(self, turn: Turn, model: str, usage: Usage) -> Work[None] | None:
        """What one response of the answer cost (every round counts): the database write
        that counts it, or None. The core runs it in the transaction that ends the answer
        (the turn recorded), or in one of its own when another response follows."""


class Open:
    """Everyone may ask, without limit, with the defaults."""

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
