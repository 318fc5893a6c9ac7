"""One workspace, one Slack budget.

Slack limits an app's calls per workspace and method, however many answers stream
at once (`chat.update` is Tier 3: about 50 a minute). Every Slack call an answer
makes asks this budget first, and the budget keeps each method under its limit:

- a final write is *urgent*: it waits until the method has room in its window,
  and is never dropped;
- an answer's first text takes any room there is;
- a later *interim* edit goes only when room is left beyond one call for each
  live answer of the workspace (what their final writes still need);
- a first text or interim edit with no room is deferred, and the Pacer sends the
  newest text when the window has room again;
- each answer's edit interval widens as answers multiply, so they share the
  interim edits fairly, and narrows as they finish.

The calls are counted in a ledger: in memory for one process (SQLite), in the
database for several workers (PostgreSQL), so all workers spend one budget.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.calls import SlackCall


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


class Ledger(Protocol):
    async def take(
        self, key: str, calls: int, seconds: float, *, team: str, live: int, interim: bool
    ) -> float:
        """Count one call on `key` if fewer than `calls` were counted in the last
        `seconds`, and return 0; otherwise count nothing and return the seconds until
        one more would fit. `live` is how many answers this worker has live in the
        workspace `team`; an `interim` call leaves a place for each live answer of the
        workspace, this worker's and every other's."""
        ...


class MemoryLedger:
    """The ledger of one process: a window of call times per key."""

    def __init__(self) -> None:
        self._windows: dict[str, deque[float]] = {}

    async def take(
        self, key: str, calls: int, seconds: float, *, team: str, live: int, interim: bool
    ) -> float:
        now = time.monotonic()
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - seconds:
            window.popleft()
        return count_in(window, now, calls - live if interim else calls, seconds)


def count_in(window: deque[float], now: float, calls: int, seconds: float) -> float:
    """Take one call in `window` (call times, oldest first, all within `seconds`)."""
    if len(window) < calls:
        window.append(now)
        return 0.0
    if calls <= 0:
        return seconds
    return max(window[len(window) - calls] + seconds - now, 0.01)


class Deferred(Exception):
    """No room for an interim edit now: the newest text goes in `wait` seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"deferred for {wait:.1f}s")
        self.wait = wait


class SlackBudget:
    """The budgets of every workspace the bot serves, and their live answers."""

    def __init__(self, ledger: Ledger, limits: dict[str, Limit] | None = None) -> None:
        self._ledger = ledger
        self._limits = LIMITS if limits is None else limits
        self._live: Counter[str] = Counter()  # live answers per workspace, in this worker

    def for_answer(self, team_id: str, channel_id: str) -> AnswerBudget:
        return AnswerBudget(self, team_id, channel_id)

    def live(self, team_id: str) -> int:
        return self._live[team_id]

    def limit(self, method: str) -> Limit | None:
        return self._limits.get(method)

    async def take(self, key: str, limit: Limit, team: str, *, interim: bool) -> float:
        live = self._live[team]
        return await self._ledger.take(
            key, limit.calls, limit.seconds, team=team, live=live, interim=interim
        )


class AnswerBudget:
    """One answer's view of its workspace's budget: wraps its Slack calls."""

    def __init__(self, budget: SlackBudget, team_id: str, channel_id: str) -> None:
        self._budget = budget
        self._team = team_id
        self._channel = channel_id
        self._live = False
        self._called: set[str] = set()  # methods this answer has called (its first text)

    def begin(self) -> None:
        """The answer is live: it counts in the workspace's share, and its final is owed."""
        if not self._live:
            self._live = True
            self._budget._live[self._team] += 1

    def end(self) -> None:
        if self._live:
            self._live = False
            self._budget._live[self._team] -= 1

    def interval(self, method: str, base: float) -> Callable[[], float]:
        """The least seconds between two interim calls of `method` by this answer, now:
        `base` alone; with others live, a fair share of what the finals leave."""

        def now() -> float:
            limit = self._budget.limit(method)
            live = self._budget.live(self._team)
            if limit is None or live < 2:
                return base
            share = limit.seconds * live / max(limit.calls - live, 1)
            return max(base, share)

        return now

    def urgent(self, method: str, call: SlackCall) -> SlackCall:
        """`call`, once `method` has room: a final write, or a message the answer needs."""

        async def paced(**kwargs: Any) -> AsyncSlackResponse:
            await self._wait_for_room(method)
            return await self._called_with(method, call, kwargs)

        return paced

    def interim(self, method: str, call: SlackCall) -> SlackCall:
        """`call` now if room is left beyond the finals owed, else Deferred. This answer's
        first call of `method` is its first text: it may take any room there is."""

        async def paced(**kwargs: Any) -> AsyncSlackResponse:
            wait = await self._take(method, interim=method in self._called)
            if wait:
                raise Deferred(wait)
            return await self._called_with(method, call, kwargs)

        return paced

    def if_room(self, method: str, call: SlackCall) -> SlackCall:
        """`call` if `method` has room now, else Deferred (the caller takes another way)."""

        async def paced(**kwargs: Any) -> AsyncSlackResponse:
            wait = await self._take(method, interim=False)
            if wait:
                raise Deferred(wait)
            return await self._called_with(method, call, kwargs)

        return paced

    async def _called_with(
        self, method: str, call: SlackCall, kwargs: dict[str, Any]
    ) -> AsyncSlackResponse:
        self._called.add(method)
        return await call(**kwargs)

    async def _wait_for_room(self, method: str) -> None:
        # Waits out the window: the ledger says when a place frees, and may be shared
        # with other workers, so there is nothing local to wait on.
        while True:
            wait = await self._take(method, interim=False)
            if not wait:
                return
            await asyncio.sleep(wait)

    async def _take(self, method: str, *, interim: bool) -> float:
        limit = self._budget.limit(method)
        if limit is None:
            return 0.0
        key = f"{self._team}:{method}"
        if limit.per_channel:
            key += f":{self._channel}"
        return await self._budget.take(key, limit, self._team, interim=interim)


def unlimited() -> AnswerBudget:
    """No budget: every call goes at once."""
    return SlackBudget(MemoryLedger(), limits={}).for_answer("", "")
