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

from sqlalchemy import Connection, delete, func, select

from bot.store.database import lock_id_of
from bot.store.statements import insert_into
from bot.store.store import Store
from bot.store.tables import slack_calls, slack_workers

# A worker not heard of for this long has stopped (or crashed): its answers no longer count.
WORKER_GONE = 120.0


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

    async def take(
        self, key: str, calls: int, seconds: float, *, team: str, live: int, keep: int
    ) -> float:
        """Count one call on `key` if fewer than `calls - keep` were counted in the last
        `seconds`, and return 0; otherwise count nothing and return the seconds until
        one more would fit. `live` is how many answers this worker has live in the
        workspace `team`; a call that keeps places (`keep` > 0) keeps one more for each
        answer other workers have live there."""

        def work(conn: Connection) -> float:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(lock_id_of(f"slack_calls:{key}"))))
            now = time.time()
            elsewhere = _live_elsewhere(conn, self.worker, team, now) if keep > 0 else 0
            room = calls - keep - elsewhere
            conn.execute(
                insert_into(conn, slack_workers)
                .values(worker=self.worker, team_id=team, live=live, seen_at=now)
                .on_conflict_do_update(
                    index_elements=["worker", "team_id"], set_={"live": live, "seen_at": now}
                )
            )
            mine = slack_calls.c.key == key
            conn.execute(delete(slack_calls).where(mine, slack_calls.c.at <= now - seconds))
            window = [float(at) for at in conn.scalars(
                select(slack_calls.c.at).where(mine).order_by(slack_calls.c.at)
            )]  # fmt: skip
            wait = wait_for_room(window, now, room, seconds)
            if not wait:
                conn.execute(slack_calls.insert().values(key=key, at=now))
            return wait

        return await self._store.run(work)


def _live_elsewhere(conn: Connection, worker: str, team: str, now: float) -> int:
    """The answers other workers have live in the workspace, as they last said."""
    total = conn.scalar(
        select(func.coalesce(func.sum(slack_workers.c.live), 0)).where(
            slack_workers.c.team_id == team,
            slack_workers.c.worker != worker,
            slack_workers.c.seen_at > now - WORKER_GONE,
        )
    )
    return int(total or 0)
