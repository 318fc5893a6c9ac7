"""Answers under way, as the database keeps them until they are delivered.

A row is written when a message is accepted (`waiting`), marked `answering`
when its answer starts, carries the answer's progress (response id, last
sequence number shown, the text so far and where it is shown) as the answer
streams, and `delivering` once the model is done and only the final write is
left. The worker holding a row's lease renews it; any worker takes over a row
whose lease ran out. The row is deleted when the answer is delivered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.database import Database, Work
from bot.store.store import HEARD_SINCE, ThreadState, TurnRecord, now, record_turn
from bot.store.tables import live_answers, seen_messages, threads

WAITING, ANSWERING, DELIVERING = "waiting", "answering", "delivering"

# Built once (see statements.py); the answer's key and this worker are bound parameters.
_live = live_answers.c
_MINE = (_live.key == bindparam("answer")) & (_live.owner == bindparam("worker"))
_CLAIM = seen_messages.insert()
_KEEP = live_answers.insert()
# A held answer's thread: its chain head, and whether messages were heard since. No row
# when this worker does not hold the answer.
_STARTING = (
    select(threads.c.chain_head, HEARD_SINCE)
    .select_from(
        live_answers.outerjoin(
            threads,
            (threads.c.team_id == _live.team_id)
            & (threads.c.channel_id == _live.channel_id)
            & (threads.c.thread_ts == _live.thread_ts),
        )
    )
    .where(_MINE)
)
_SAVE = (
    update(live_answers)
    .where(_MINE)
    .values(
        state=ANSWERING,
        response_id=bindparam("response_id_"),
        sequence=bindparam("sequence_"),
        progress=bindparam("progress_"),
    )
)
_FORGET = delete(live_answers).where(_MINE)
_RENEW = (
    update(live_answers)
    .where(_live.owner == bindparam("worker"), _live.key.in_(bindparam("keys", expanding=True)))
    .values(lease_until=bindparam("until"))
)
_ME = select(_live.team_id, _live.channel_id, _live.thread_ts, _live.accepted_at).where(
    _live.key == bindparam("key")
)
_EARLIER = (
    select(_live.key)
    .where(
        _live.team_id == bindparam("team"),
        _live.channel_id == bindparam("channel"),
        _live.thread_ts == bindparam("thread"),
        _live.state.in_((WAITING, ANSWERING)),
        _live.key != bindparam("key"),
        (_live.accepted_at < bindparam("accepted"))
        | ((_live.accepted_at == bindparam("accepted")) & (_live.key < bindparam("key"))),
    )
    .limit(1)
)


@dataclass(frozen=True)
class LiveRow:
    key: str
    turn: dict[str, Any]  # the turn's fields and how its answer is delivered
    state: str
    response_id: str | None
    sequence: int
    progress: dict[str, Any]
    attempts: int


def _row(row: Any) -> LiveRow:
    return LiveRow(
        key=str(row.key),
        turn=json.loads(row.turn),
        state=str(row.state),
        response_id=row.response_id,
        sequence=int(row.sequence),
        progress=json.loads(row.progress or "{}"),
        attempts=int(row.attempts),
    )


class LiveAnswers:
    def __init__(self, database: Database, owner: str, lease: timedelta) -> None:
        self._db = database
        self.owner = owner  # this worker
        self.lease = lease

    def _mine(self, key: str) -> Any:
        return (live_answers.c.key == key) & (live_answers.c.owner == self.owner)

    async def accept(
        self, key: str, team_id: str, channel_id: str, thread_ts: str, turn: dict[str, Any]
    ) -> bool:
        """Claim the user's message and keep its turn, in one transaction; False when it
        was claimed before (a redelivery, by any worker)."""

        kept = json.dumps(turn)

        def work(conn: Connection) -> None:
            at = now()
            conn.execute(_CLAIM, {"key": key, "seen_at": at})
            conn.execute(
                _KEEP,
                {
                    "key": key,
                    "team_id": team_id,
                    "channel_id": channel_id,
                    "thread_ts": thread_ts,
                    "turn": kept,
                    "state": WAITING,
                    "owner": self.owner,
                    "lease_until": at + self.lease,
                    "accepted_at": at,
                },
            )

        try:
            await self._db.transaction(work)
        except IntegrityError:
            return False
        return True

    async def begin(
        self, key: str, also: Work[Callable[[], None]] | None = None
    ) -> ThreadState | None:
        """The state of the answer's thread as its answer starts; None when this worker no
        longer holds it (another took it over). One read: the answer is marked started
        (`answering`) with the first progress it keeps (`save`); until then a successor
        starts it afresh either way. `also` reads more in the same transaction (what the
        policy needs); what it returns is called here, once the transaction is done."""

        def work(conn: Connection) -> tuple[ThreadState, Callable[[], None] | None] | None:
            row = conn.execute(_STARTING, {"answer": key, "worker": self.owner}).first()
            if row is None:
                return None
            return ThreadState(row[0], bool(row[1])), (also(conn) if also else None)

        started = await self._db.transaction(work)
        if started is None:
            return None
        state, hand_over = started
        if hand_over is not None:
            hand_over()
        return state

    async def next_in_thread(self, key: str) -> bool:
        """True when no earlier turn of the same thread is still waiting for, or getting,
        its answer (on any worker): turns of a thread are answered in the order they were
        accepted, and never two at once. Read anew each time, so it holds whatever
        happens to a connection."""

        def work(conn: Connection) -> bool:
            me = conn.execute(_ME, {"key": key}).first()
            if me is None:
                return True
            earlier = conn.scalar(
                _EARLIER,
                {
                    "team": me.team_id,
                    "channel": me.channel_id,
                    "thread": me.thread_ts,
                    "key": key,
                    "accepted": me.accepted_at,
                },
            )
            return earlier is None

        return await self._db.transaction(work)

    async def save(
        self, key: str, response_id: str | None, sequence: int, progress: dict[str, Any]
    ) -> bool:
        """Keep how far the answer got (it is under way: `answering`); False when this
        worker no longer holds it."""
        values = {
            "answer": key,
            "worker": self.owner,
            "response_id_": response_id,
            "sequence_": sequence,
            "progress_": json.dumps(progress),
        }

        def work(conn: Connection) -> bool:
            return bool(conn.execute(_SAVE, values).rowcount)

        return await self._db.transaction(work)

    async def done(
        self, key: str, record: TurnRecord | None = None, also: Work[None] | None = None
    ) -> bool:
        """The answer is delivered: keep its turn (the chain moves) and forget the answer, in
        one transaction, with `also` (the last response's tokens counted) in the same one.
        False, and no turn kept, when this worker no longer holds it (another took it
        over): the chain moves only under the answer's holder."""

        def work(conn: Connection) -> bool:
            if also is not None:
                also(conn)
            if not conn.execute(_FORGET, {"answer": key, "worker": self.owner}).rowcount:
                return False
            if record is not None:
                record_turn(conn, record)
            return True

        return await self._db.transaction(work)

    async def left(
        self,
        key: str,
        record: TurnRecord | None,
        final: dict[str, Any],
        delay: timedelta,
        also: Work[None] | None = None,
    ) -> int:
        """The final write did not land: keep the turn (the chain moves) and what is left
        to write, for any worker to try again after `delay`; in one transaction, with
        `also` as in `done`. How many attempts have failed so far; 0 when this worker no
        longer holds the answer."""

        def work(conn: Connection) -> int:
            if also is not None:
                also(conn)
            held = conn.execute(
                update(live_answers)
                .where(self._mine(key))
                .values(
                    state=DELIVERING,
                    progress=json.dumps(final),
                    owner=None,
                    lease_until=now() + delay,
                    attempts=live_answers.c.attempts + 1,
                )
            )
            if not held.rowcount:
                return 0
            if record is not None:
                record_turn(conn, record)
            attempts = conn.scalar(select(live_answers.c.attempts).where(live_answers.c.key == key))
            return int(attempts or 0)

        return await self._db.transaction(work)

    async def drop(self, key: str) -> None:
        """Forget an answer that cannot be delivered."""
        await self._db.transaction(
            lambda conn: conn.execute(delete(live_answers).where(live_answers.c.key == key))
        )

    async def renew(self, keys: set[str]) -> int:
        """Extend the lease of the answers this worker is at work on."""

        def work(conn: Connection) -> int:
            held = {"worker": self.owner, "keys": list(keys), "until": now() + self.lease}
            result = conn.execute(_RENEW, held)
            return int(result.rowcount or 0)

        return await self._db.transaction(work)

    async def release(self, keys: list[str] | None = None) -> int:
        """Hand answers this worker holds (all, or `keys`) to whichever worker looks next."""

        def work(conn: Connection) -> int:
            where = live_answers.c.owner == self.owner
            if keys is not None:
                where = where & live_answers.c.key.in_(keys)
            result = conn.execute(
                update(live_answers).where(where).values(owner=None, lease_until=now())
            )
            return int(result.rowcount or 0)

        return await self._db.transaction(work)

    async def expire_all(self) -> int:
        """Every lease runs out now: for a database only one worker uses (SQLite), whose
        answers under way at start were left by a process that is gone."""

        def work(conn: Connection) -> int:
            result = conn.execute(
                update(live_answers)
                .where(live_answers.c.owner.is_not(None))
                .values(owner=None, lease_until=now())
            )
            return int(result.rowcount or 0)

        return await self._db.transaction(work)

    async def take_over(self, limit: int = 50) -> list[LiveRow]:
        """Claim answers whose lease ran out, oldest first."""

        def work(conn: Connection) -> list[LiveRow]:
            at = now()
            expired = conn.execute(
                select(live_answers.c.key)
                .where(live_answers.c.lease_until < at)
                .order_by(live_answers.c.accepted_at)
                .limit(limit)
            ).all()
            taken = []
            for (key,) in expired:
                # Compare and set: of two workers looking at once, one gets it.
                claimed = conn.execute(
                    update(live_answers)
                    .where(live_answers.c.key == key, live_answers.c.lease_until < at)
                    .values(owner=self.owner, lease_until=at + self.lease)
                )
                if claimed.rowcount:
                    row = conn.execute(
                        select(live_answers).where(live_answers.c.key == key)
                    ).first()
                    taken.append(_row(row))
            return taken

        return await self._db.transaction(work)

    async def pending(self) -> int:
        """How many answers are not delivered yet (for tests and operators)."""
        return await self._db.transaction(
            lambda conn: len(conn.execute(select(live_answers.c.key)).all())
        )
