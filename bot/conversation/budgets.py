"""How much: every response's tokens are counted per user, channel, model and UTC day,
and a turn is refused before the model is asked once the asker's or the workspace's
daily budget is spent (BOT_USER_DAILY_TOKENS, BOT_WORKSPACE_DAILY_TOKENS).

The check is made once per turn, before the model is called; an answer already under
way is finished, so a day may end a little over budget and the next turn is refused.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import Connection

from bot.conversation.parameters import Parameters
from bot.conversation.policy import HandOver, Refusal
from bot.conversation.turn import Turn
from bot.responses.events import Usage
from bot.store.database import Work
from bot.store.usage import Spent

Clock = Callable[[], datetime]
TURNS_REMEMBERED = 10_000  # turns whose first response was counted (an answer's rounds)


class Ledger(Protocol):
    def adding(self, spent: Spent, day: date) -> Work[None]:
        """The write that counts `spent` against `day`."""

    def spending(self, day: date, team_id: str, user_id: str) -> Work[tuple[int, int]]:
        """`spent_on`'s read, for any transaction."""

    async def spent_on(self, day: date, team_id: str, user_id: str) -> tuple[int, int]:
        """(the user's tokens, the workspace's tokens) on `day`."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def resets(now: datetime) -> str:
    """When the day's budgets start again, in words and from now: "resets at 00:00 UTC,
    in 3 h 20 min"."""
    midnight = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=UTC)
    minutes = max(1, math.ceil((midnight - now).total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        left = f"{hours} h {minutes} min"
    else:
        left = f"{hours} h" if hours else f"{minutes} min"
    return f"resets at 00:00 UTC, in {left}"


def user_over(limit: int, now: datetime) -> str:
    return f"You've reached your daily limit of {limit:,} tokens. It {resets(now)}."


def workspace_over(limit: int, now: datetime) -> str:
    return f"This workspace has reached its daily limit of {limit:,} tokens. It {resets(now)}."


def tokens_of(usage: Usage) -> int:
    """A response's total; some endpoints leave `total_tokens` out."""
    return usage.total_tokens or usage.input_tokens + usage.output_tokens


class DailyBudgets:
    """Counts every response's usage; refuses a turn once a daily budget is spent.
    Without budgets it only counts (for `python -m bot usage` and the App Home)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        user_tokens: int | None = None,
        workspace_tokens: int | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._ledger = ledger
        self.user_tokens = user_tokens
        self.workspace_tokens = workspace_tokens
        self._clock = clock
        self._counted: OrderedDict[str, None] = OrderedDict()
        self._read: dict[str, tuple[date, tuple[int, int]]] = {}  # turn key → the day's read

    @property
    def limited(self) -> bool:
        return self.user_tokens is not None or self.workspace_tokens is not None

    def prepare(self, turn: Turn) -> Work[HandOver] | None:
        """The day's tokens so far, read with the answer's start."""
        if not self.limited:
            return None
        day = self._clock().date()
        read = self._ledger.spending(day, turn.team_id, turn.user_id)

        def work(conn: Connection) -> HandOver:
            spent = read(conn)
            return lambda: self._keep(turn.key, day, spent)

        return work

    def _keep(self, key: str, day: date, spent: tuple[int, int]) -> None:
        if len(self._read) > TURNS_REMEMBERED:
            self._read.clear()  # bounded: reads of turns never admitted (help, too long)
        self._read[key] = (day, spent)

    async def admit(self, turn: Turn, parameters: Parameters) -> Parameters | Refusal:
        if not self.limited:
            return parameters
        now = self._clock()
        read = self._read.pop(turn.key, None)
        if read is not None and read[0] == now.date():
            mine, workspace = read[1]
        else:
            mine, workspace = await self._ledger.spent_on(now.date(), turn.team_id, turn.user_id)
        if self.user_tokens is not None and mine >= self.user_tokens:
            return Refusal(user_over(self.user_tokens, now))
        if self.workspace_tokens is not None and workspace >= self.workspace_tokens:
            return Refusal(workspace_over(self.workspace_tokens, now))
        return parameters

    def spent(self, turn: Turn, model: str, usage: Usage) -> Work[None]:
        first = self._first_response(turn.key)
        spent = Spent(
            team_id=turn.team_id,
            user_id=turn.user_id,
            channel_id=turn.channel_id,
            model=model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=tokens_of(usage),
            answers=int(first),
            asks=int(first and turn.one_off),
        )
        return self._ledger.adding(spent, self._clock().date())

    def _first_response(self, key: str) -> bool:
        """True the first time a turn's response is counted: an answer's later rounds add
        tokens, not answers."""
        if key in self._counted:
            return False
        self._counted[key] = None
        if len(self._counted) > TURNS_REMEMBERED:
            self._counted.popitem(last=False)
        return True
