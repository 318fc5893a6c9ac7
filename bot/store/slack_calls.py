"""The ledger of recent Slack calls, in the database: every worker spends one Slack
rate budget per workspace from it (PostgreSQL; one process keeps its ledger in
memory).

A take is one transaction under a transaction-scoped advisory lock on its key, so
two workers never both take the last place in a window. Each take also notes how
many answers its worker has live in the workspace, so interim edits on any worker
leave a place for every live answer's final write.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from sqlalchemy import BigInteger, Connection, bindparam, delete, func, select

from bot.store.database import lock_id_of
from bot.store.statements import per_dialect
from bot.store.store import Store
from bot.store.tables import slack_calls, slack_workers

# A worker not heard of for this long has stopped (or crashed): its answers no longer count.
WORKER_GONE = 120.0
# A worker says how many answers it has live in a workspace when that number changes, and
# at least this often while it takes calls there (well inside WORKER_GONE).
SAY_LIVE_EVERY = WORKER_GONE / 4

# Built once (see statements.py).
_SAY_LIVE = per_dialect(
    lambda insert: insert(slack_workers)
    .values(
        worker=bindparam("worker"), team_id=bindparam("team"),
        live=bindparam("live"), seen_at=bindparam("now"),
    )
    .on_conflict_do_update(
        index_elements=["worker", "team_id"],
        set_={"live": bindparam("live"), "seen_at": bindparam("now")},
    )
)  # fmt: skip
_LOCK = select(func.pg_advisory_xact_lock(bindparam("lock", type_=BigInteger)))
_KEY = slack_calls.c.key == bindparam("key")
_FORGET_OLD = delete(slack_calls).where(_KEY, slack_calls.c.at <= bindparam("edge"))
_WINDOW = select(slack_calls.c.at).where(_KEY).order_by(slack_calls.c.at)
_COUNT = slack_calls.insert()
_LIVE_ELSEWHERE = select(func.coalesce(func.sum(slack_workers.c.live), 0)).where(
    slack_workers.c.team_id == bindparam("team"),
    slack_workers.c.worker != bindparam("worker"),
    slack_workers.c.seen_at > bindparam("since"),
)


def wait_for_room(window: Sequence[float], now: float, room: int, seconds: float) -> float:
    """0 when `window` (call times, oldest first, all within `seconds`) holds fewer than
    `room` calls; else the seconds until it would."""
    if len(window) < room:
        return 0.0
    if room <= 0:
        return seconds
    return max(window[len(window) - room] + seconds - now, 0.01)


class SlackCallLedger:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.worker = uuid.uuid4().hex  # this process, in `slack_workers`
        self._said: dict[str, tuple[int, float]] = {}  # team → (live, when) last written

    async def take(
        self, key: str, calls: int, seconds: float, *, team: str, live: int, keep: int
    ) -> float:
        """Count one call on `key` if fewer than `calls - keep` were counted in the last
        `seconds`, and return 0; otherwise count nothing and return the seconds until
        one more would fit. `live` is how many answers this worker has live in the
        workspace `team`; a call that keeps places (`keep` > 0) keeps one more for each
        answer other workers have live there."""

        said = self._said.get(team)
        say = said is None or said[0] != live or time.time() - said[1] > SAY_LIVE_EVERY
        lock = lock_id_of(f"slack_calls:{key}")

        def work(conn: Connection) -> tuple[float, float]:
            if conn.dialect.name == "postgresql":
                conn.execute(_LOCK, {"lock": lock})
            now = time.time()
            elsewhere = _live_elsewhere(conn, self.worker, team, now) if keep > 0 else 0
            room = calls - keep - elsewhere
            if say:  # else the row says so already, recently enough
                conn.execute(
                    _SAY_LIVE(conn), {"worker": self.worker, "team": team, "live": live, "now": now}
                )
            conn.execute(_FORGET_OLD, {"key": key, "edge": now - seconds})
            window = [float(at) for at in conn.scalars(_WINDOW, {"key": key})]
            wait = wait_for_room(window, now, room, seconds)
            if not wait:
                conn.execute(_COUNT, {"key": key, "at": now})
            return wait, now

        wait, at = await self._store.run(work)
        if say:
            if len(self._said) > 10_000:
                self._said.clear()  # bounded: many workspaces over time
            self._said[team] = (live, at)
        return wait


def _live_elsewhere(conn: Connection, worker: str, team: str, now: float) -> int:
    """The answers other workers have live in the workspace, as they last said."""
    total = conn.scalar(
        _LIVE_ELSEWHERE, {"team": team, "worker": worker, "since": now - WORKER_GONE}
    )
    return int(total or 0)
