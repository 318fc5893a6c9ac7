"""One workspace, one Slack budget.

Slack limits an app's calls per workspace and method, however many answers stream
at once (`chat.update` is Tier 3: about 50 a minute). Every Slack call an answer
makes asks this budget first, and the budget keeps each method under its limit:

- a final write is *urgent*: it waits until the method has room in its window,
  and is never dropped;
- an answer's *first* text goes when room is left beyond a place for each live
  answer's final write;
- a later *interim* edit goes only when room is left beyond those places and one
  for each first text still to come;
- a first text or interim edit with no room is deferred, and the Pacer sends the
  newest text when the window has room again;
- each answer's edit interval widens as answers multiply, so they share the
  interim edits fairly, and narrows as they finish.

The calls are counted in a ledger: in memory for one process (SQLite), in the
database for several workers (PostgreSQL), so all workers spend one budget.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.calls import SlackCall
from bot.store.slack_calls import wait_for_room


@dataclass(frozen=True)
class Limit:
    """At most `calls` in any `seconds`, per workspace (and per channel if `per_channel`)."""

    calls: int
    seconds: float
    per_channel: bool = False


# Slack's limits less a tenth: what the bot allows itself, per workspace.
LIMITS: dict[str, Limit] = {
    "chat.update": Limit(45, 60),  # Tier 3, about 50 a minute
    "chat.postMessage": Limit(9, 10, per_channel=True),  # about 1 a second per channel
    "chat.startStream": Limit(18, 60),  # Tier 2, about 20 a minute
    "chat.stopStream": Limit(18, 60),
    "chat.appendStream": Limit(90, 60),  # Tier 4, about 100 a minute
}
# Slack counts a call from when it arrives, the budget from when it is asked for:
# the budget keeps each call in its window this much longer than Slack does.
IN_FLIGHT = 2.0

Kind = Literal["urgent", "first", "interim"]


class Ledger(Protocol):
    async def take(
        self, key: str, calls: int, seconds: float, *, team: str, live: int, keep: int
    ) -> float:
        """Count one call on `key` if fewer than `calls - keep` were counted in the last
        `seconds`, and return 0; otherwise count nothing and return the seconds until
        one more would fit. `live` is how many answers this worker has live in the
        workspace `team`; a call that keeps places (`keep` > 0) keeps one more for each
        answer other workers have live there."""
        ...


class MemoryLedger:
    """The ledger of one process: a window of call times per key. Windows whose calls
    have all left them are dropped now and then, so workspaces that went quiet cost
    nothing."""

    SWEEP_EVERY = 1024  # takes

    def __init__(self) -> None:
        self._windows: dict[str, deque[float]] = {}
        self._longest = 0.0  # the longest window asked for: older calls count nowhere
        self._takes = 0

    async def take(
        self, key: str, calls: int, seconds: float, *, team: str, live: int, keep: int
    ) -> float:
        now = time.monotonic()
        self._longest = max(self._longest, seconds)
        self._takes += 1
        if self._takes % self.SWEEP_EVERY == 0:
            self._sweep(now)
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - seconds:
            window.popleft()
        wait = wait_for_room(window, now, calls - keep, seconds)
        if not wait:
            window.append(now)
        return wait

    def _sweep(self, now: float) -> None:
        quiet = [k for k, w in self._windows.items() if not w or w[-1] <= now - self._longest]
        for key in quiet:
            del self._windows[key]


class Deferred(Exception):
    """No room for a first text or interim edit now: the newest text goes in `wait` s."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"deferred for {wait:.1f}s")
        self.wait = wait


class SlackBudget:
    """The budgets of every workspace the bot serves, and their live answers."""

    def __init__(
        self,
        ledger: Ledger,
        limits: dict[str, Limit] | None = None,
        in_flight: float = IN_FLIGHT,
    ) -> None:
        self._ledger = ledger
        self._limits = LIMITS if limits is None else limits
        self._in_flight = in_flight
        self.live: Counter[str] = Counter()  # live answers per workspace, in this worker
        self.unshown: Counter[str] = Counter()  # of those, the ones yet to show a text

    def for_answer(self, team_id: str, channel_id: str) -> AnswerBudget:
        return AnswerBudget(self, team_id, channel_id)

    def limit(self, method: str) -> Limit | None:
        return self._limits.get(method)

    async def take(self, key: str, limit: Limit, team: str, kind: Kind) -> float:
        """Ask for one call of a `kind` on `key`: 0 if it may go now, else the wait."""
        live = self.live[team]
        keep = {"urgent": 0, "first": live, "interim": live + self.unshown[team]}[kind]
        seconds = limit.seconds + self._in_flight
        return await self._ledger.take(key, limit.calls, seconds, team=team, live=live, keep=keep)


class AnswerBudget:
    """One answer's part of its workspace's budget: wraps the answer's Slack calls."""

    __slots__ = ("_budget", "_channel", "_live", "_shown", "_team")

    def __init__(self, budget: SlackBudget, team_id: str, channel_id: str) -> None:
        self._budget = budget
        self._team = team_id
        self._channel = channel_id
        self._live = False
        self._shown = False  # its first text went out

    def begin(self) -> None:
        """The answer is live: it counts in the workspace's share; a first text and a
        final write are owed."""
        if not self._live:
            self._live = True
            self._budget.live[self._team] += 1
            self._budget.unshown[self._team] += 0 if self._shown else 1

    def end(self) -> None:
        if self._live:
            self._live = False
            _less(self._budget.live, self._team)
            if not self._shown:
                _less(self._budget.unshown, self._team)

    def _showing(self) -> None:
        if not self._shown:
            self._shown = True
            if self._live:
                _less(self._budget.unshown, self._team)

    def interval(self, method: str, base: float) -> Callable[[], float]:
        """The least seconds between two interim calls of `method` by this answer, now:
        `base` alone; with others live, a fair share of what their finals leave."""

        def now() -> float:
            limit = self._budget.limit(method)
            live = self._budget.live[self._team]
            if limit is None or live < 2:
                return base
            return max(base, limit.seconds * live / max(limit.calls - live, 1))

        return now

    def urgent(self, method: str, call: SlackCall) -> SlackCall:
        """`call`, once `method` has room: a final write, or a message the answer needs."""

        @functools.wraps(call)  # keeps the method's name, which calls.land reads
        async def paced(**kwargs: Any) -> AsyncSlackResponse:
            # The ledger says when a place frees (and may be shared with other workers,
            # so there is nothing local to wait on): sleep until then, and ask again.
            while True:
                wait = await self._take(method, "urgent")
                if not wait:
                    return await call(**kwargs)
                await asyncio.sleep(wait)

        return paced

    def interim(self, method: str, call: SlackCall) -> SlackCall:
        """`call` now if the budget has room for it, else Deferred: the answer's first
        text, then its interim edits."""

        @functools.wraps(call)  # keeps the method's name, which calls.land reads
        async def paced(**kwargs: Any) -> AsyncSlackResponse:
            wait = await self._take(method, "interim" if self._shown else "first")
            if wait:
                raise Deferred(wait)
            self._showing()
            return await call(**kwargs)

        return paced

    def if_room(self, method: str, call: SlackCall) -> SlackCall:
        """`call` if `method` has room now, else Deferred (the caller takes another way)."""

        @functools.wraps(call)  # keeps the method's name, which calls.land reads
        async def paced(**kwargs: Any) -> AsyncSlackResponse:
            wait = await self._take(method, "urgent")
            if wait:
                raise Deferred(wait)
            return await call(**kwargs)

        return paced

    async def _take(self, method: str, kind: Kind) -> float:
        limit = self._budget.limit(method)
        if limit is None:
            return 0.0
        key = f"{self._team}:{method}"
        if limit.per_channel:
            key += f":{self._channel}"
        return await self._budget.take(key, limit, self._team, kind)


def _less(counter: Counter[str], team: str) -> None:
    """One fewer for `team`; a workspace with none left is not kept."""
    counter[team] -= 1
    if counter[team] <= 0:
        del counter[team]


def unlimited() -> AnswerBudget:
    """No budget: every call goes at once."""
    return SlackBudget(MemoryLedger(), limits={}).for_answer("", "")
