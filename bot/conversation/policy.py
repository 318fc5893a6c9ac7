"""Who may ask, how much, and with which parameters: decided once per turn, before the
model is called, by the policy the core is handed (allow-lists, budgets, channel
settings). The core knows only this small interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.conversation.parameters import Parameters
from bot.conversation.turn import Turn
from bot.responses.events import Usage


@dataclass(frozen=True)
class Refusal:
    """The turn is not answered; `text` is told to the asker alone."""

    text: str


class Policy(Protocol):
    async def admit(self, turn: Turn, parameters: Parameters) -> Parameters | Refusal:
        """The parameters to answer `turn` with (the defaults, overridden where a
        workspace or channel says so), or why it is not answered."""

    async def spent(self, turn: Turn, model: str, usage: Usage) -> None:
        """What one response of the answer cost (every round counts)."""


class Open:
    """Everyone may ask, without limit, with the defaults."""

    async def admit(self, turn: Turn, parameters: Parameters) -> Parameters | Refusal:
        return parameters

    async def spent(self, turn: Turn, model: str, usage: Usage) -> None:
        return None


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

    async def spent(self, turn: Turn, model: str, usage: Usage) -> None:
        for policy in self._policies:
            await policy.spent(turn, model, usage)
