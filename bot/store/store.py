"""The bot's database: SQLite by default, PostgreSQL for several workers.

Each method is one transaction (see `database.py` for where it runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update

from bot.store import migrate
from bot.store.database import Database, Work, connect, lock_id_of
from bot.store.statements import insert_into as insert_into  # also where it was before
from bot.store.statements import per_dialect
from bot.store.tables import (
    assistant_threads,
    feedback,
    heard_messages,
    live_answers,
    seen_messages,
    threads,
    turns,
)

if TYPE_CHECKING:
    from bot.store.live import LiveAnswers

log = logging.getLogger(__name__)
T = TypeVar("T")
STOPS_CHANNEL = "bot_stops"  # "<user_id> <turn_key>": someone pressed Stop on that answer
STOPPED_CHANNEL = "bot_stopped"  # "<turn_key>": the worker streaming it has stopped it
MIGRATIONS_LOCK = lock_id_of("bot:migrations")
# The bot's own answers are kept with their turns this long (the Responses API keeps
# stored responses about as long): a chain rebuilt from the thread has them whole.
ANSWERS_KEPT = timedelta(days=30)


@dataclass(frozen=True)
class TurnRecord:
    """One answered (or failed) user message, as the database keeps it."""

    team_id: str
    channel_id: str
    thread_ts: str
    user_id: str
    message_ts: str
    status: str
    response_id: str | None
    previous_response_id: str | None
    started_at: datetime
    finished_at: datetime
    stored: bool  # the API stored the response: the thread's chain moves to it
    heard_ids: tuple[int, ...] = ()  # messages heard in between that this turn sent along
    answer_text: str | None = None  # the answer's whole text, as the model wrote it
    error_code: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    reasoning_tokens: int | None = None  # of output_tokens, the model's thinking


@dataclass(frozen=True)
class HeardMessage:
    id: int
    user_id: str
    text: str
    ts: str = ""  # the message's Slack timestamp
    files: tuple[dict[str, Any], ...] = ()  # references to the files attached, as kept


@dataclass(frozen=True)
class ThreadState:
    chain_head: str | None
    heard: bool  # people wrote in the thread since the bot's last turn


def now() -> datetime:
    return datetime.now(UTC)


def _place(team_id: str, channel_id: str, thread_ts: str) -> tuple[Any, ...]:
    return (
        threads.c.team_id == team_id,
        threads.c.channel_id == channel_id,
        threads.c.thread_ts == thread_ts,
    )


# The thread of the bound parameters team, channel and thread (statements built once).
_THREAD = (
    threads.c.team_id == bindparam("team"),
    threads.c.channel_id == bindparam("channel"),
    threads.c.thread_ts == bindparam("thread"),
)
# Whether messages were heard in the thread since the bot's last turn.
HEARD_SINCE = select(heard_messages.c.id).where(heard_messages.c.thread_id == threads.c.id).exists()
_THREAD_STATE = select(threads.c.chain_head, HEARD_SINCE).where(*_THREAD)
_INSERT_TURN = turns.insert()
_DELETE_HEARD = delete(heard_messages).where(
    heard_messages.c.id.in_(bindparam("ids", expanding=True))
)
_INSERT_HEARD = per_dialect(
    lambda insert: insert(heard_messages).on_conflict_do_nothing()
)  # fmt: skip
# The bot takes part in the thread: it answered there, or a turn of it is accepted.
_TAKES_PART = select(
    select(threads.c.id).where(*_THREAD).exists()
    | select(live_answers.c.key)
    .where(
        live_answers.c.team_id == bindparam("team"),
        live_answers.c.channel_id == bindparam("channel"),
        live_answers.c.thread_ts == bindparam("thread"),
    )
    .exists()
)
_HEARD_IN_THREAD = (
    select(
        heard_messages.c.id, heard_messages.c.user_id, heard_messages.c.text,
        heard_messages.c.message_ts, heard_messages.c.files,
    )
    .join(threads, threads.c.id == heard_messages.c.thread_id)
    .where(*_THREAD)
)  # fmt: skip


def _thread_upsert(insert: Any, *, moves: bool) -> Any:
    """One atomic upsert on both engines: two workers cannot create a thread twice. With
    `moves`, the thread's chain head moves to the bound `head`."""
    changes: dict[str, Any] = {"updated_at": bindparam("at")}
    if moves:
        changes["chain_head"] = bindparam("head")
    return (
        insert(threads)
        .values(
            team_id=bindparam("team"),
            channel_id=bindparam("channel"),
            thread_ts=bindparam("thread"),
            chain_head=bindparam("head"),
            created_at=bindparam("at"),
            updated_at=bindparam("at"),
        )  # fmt: skip
        .on_conflict_do_update(index_elements=["team_id", "channel_id", "thread_ts"], set_=changes)
        .returning(threads.c.id)
    )


_TOUCH = per_dialect(lambda insert: _thread_upsert(insert, moves=False))
_TOUCH_AND_MOVE = per_dialect(lambda insert: _thread_upsert(insert, moves=True))


def read_thread_state(
    conn: Connection, team_id: str, channel_id: str, thread_ts: str
) -> ThreadState:
    row = conn.execute(
        _THREAD_STATE, {"team": team_id, "channel": channel_id, "thread": thread_ts}
    ).first()
    return ThreadState(None, False) if row is None else ThreadState(row[0], bool(row[1]))


def _touch_thread(
    conn: Connection,
    team_id: str,
    channel_id: str,
    thread_ts: str,
    head: str | None = None,
    at: datetime | None = None,
) -> int:
    """The thread's id, creating the thread if new; moves its chain head to `head` if given."""
    at = at or now()
    upsert = _TOUCH_AND_MOVE(conn) if head else _TOUCH(conn)
    thread_id = conn.scalar(
        upsert,
        {"team": team_id, "channel": channel_id, "thread": thread_ts, "head": head, "at": at},
    )
    assert thread_id is not None
    return int(thread_id)


def record_turn(conn: Connection, turn: TurnRecord) -> None:
    """Keep the turn; move the thread's chain head to its response if the API stored it."""
    head = turn.response_id if turn.stored else None
    thread_id = _touch_thread(
        conn, turn.team_id, turn.channel_id, turn.thread_ts, head, turn.finished_at
    )
    conn.execute(
        _INSERT_TURN,
        {
            "thread_id": thread_id,
            "user_id": turn.user_id,
            "message_ts": turn.message_ts,
            "response_id": turn.response_id,
            "previous_response_id": turn.previous_response_id,
            "status": turn.status,
            "error_code": turn.error_code,
            "input_tokens": turn.input_tokens,
            "output_tokens": turn.output_tokens,
            "total_tokens": turn.total_tokens,
            "reasoning_tokens": turn.reasoning_tokens,
            "started_at": turn.started_at,
            "finished_at": turn.finished_at,
            "answer_text": turn.answer_text or None,
        },
    )
    if turn.stored and turn.heard_ids:
        # The chain has taken them in; a failed turn leaves them for the next.
        conn.execute(_DELETE_HEARD, {"ids": list(turn.heard_ids)})


def _upgrade(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # Workers starting together on an empty database: one migrates, the others wait
        # here and then find the schema up to date. A transaction-level lock, released
        # by the migration's own commit (PostgreSQL's DDL is transactional), so it is
        # never left behind and holds behind a transaction-mode pooler too.
        conn.execute(select(func.pg_advisory_xact_lock(MIGRATIONS_LOCK)))
    migrate.upgrade(conn)


class Store:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._stop_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._acknowledgements: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, url: str, *, connections: int = 10) -> Store:
        """Connect and bring the schema up to date."""
        database = connect(url, connections)
        try:
            await database.transaction(_upgrade)
        except BaseException:
            await database.close()
            raise
        return cls(database)

    async def close(self) -> None:
        for task in list(self._acknowledgements):
            with contextlib.suppress(Exception):
                await task
        await self._db.close()

    def live(self, owner: str = "", lease: timedelta = timedelta(seconds=15)) -> LiveAnswers:
        """The answers under way, as worker `owner` (a fresh id by default) sees them."""
        from bot.store.live import LiveAnswers

        return LiveAnswers(self._db, owner or uuid.uuid4().hex[:16], lease)

    @property
    def one_process(self) -> bool:
        """SQLite: one worker process uses the database."""
        return self._db.dialect == "sqlite"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine under the store, for its events (benchmarks, tests)."""
        return self._db.engine

    async def run(self, work: Work[T]) -> T:
        """Run `work` in one transaction: for reports and admin reads."""
        return await self._db.transaction(work)

    @property
    def shared(self) -> bool:
        """True when several workers may share this database (PostgreSQL)."""
        return self._db.dialect != "sqlite"

    async def revision(self) -> str | None:
        return await self._db.transaction(migrate.current)

    async def ping(self) -> None:
        """`select 1`: raises when the database does not answer."""
        await self._db.transaction(lambda conn: conn.execute(select(1)))

    # Turns ------------------------------------------------------------------------

    async def thread_state(self, team_id: str, channel_id: str, thread_ts: str) -> ThreadState:
        """The chain head, and whether messages were heard since the last turn: one query."""
        return await self._db.transaction(
            lambda conn: read_thread_state(conn, team_id, channel_id, thread_ts)
        )

    async def chain_head(self, team_id: str, channel_id: str, thread_ts: str) -> str | None:
        return (await self.thread_state(team_id, channel_id, thread_ts)).chain_head

    async def record_turn(self, turn: TurnRecord) -> None:
        """Keep the turn; move the thread's chain head to its response if the API stored it."""
        await self._db.transaction(lambda conn: record_turn(conn, turn))

    async def answered(self, turn_key: str) -> bool:
        """True once the turn of a message (`team:channel:message_ts`) has been recorded."""
        team_id, channel_id, message_ts = (turn_key.split(":", 2) + ["", ""])[:3]

        def work(conn: Connection) -> bool:
            found = conn.scalar(
                select(turns.c.id)
                .join(threads, threads.c.id == turns.c.thread_id)
                .where(
                    threads.c.team_id == team_id,
                    threads.c.channel_id == channel_id,
                    turns.c.message_ts == message_ts,
                )
                .limit(1)
            )
            return found is not None

        return await self._db.transaction(work)

    async def stop_elsewhere(self, turn_key: str, user_id: str, within: float) -> bool | None:
        """Tell the other workers that `user_id` stopped the answer to `turn_key`, and wait
        up to `within` seconds for the one streaming it to say it did: True when one did;
        False when none did (none streams it, or none could be reached); None when there
        are no other workers (SQLite: one process)."""
        if not self.shared:
            return None
        waiter = asyncio.get_running_loop().create_future()
        waiters = self._stop_waiters.setdefault(turn_key, [])
        waiters.append(waiter)  # before the Stop goes out: the answer may come back at once
        try:
            await self._db.publish(STOPS_CHANNEL, f"{user_id} {turn_key}")
            await asyncio.wait_for(waiter, within)
        except TimeoutError:
            return False
        finally:
            waiters.remove(waiter)
            if not waiters:
                self._stop_waiters.pop(turn_key, None)
        return True

    async def on_stop(self, stop: Callable[[str, str], bool]) -> None:
        """Call `stop(turn_key, user_id)` for each Stop another worker announces; when it
        stopped an answer here (True), say so to the worker the Stop was pressed on."""

        def receive(message: str) -> None:
            user_id, _, turn_key = message.partition(" ")
            if user_id and turn_key and stop(turn_key, user_id):
                task = asyncio.create_task(self._acknowledge(turn_key))
                self._acknowledgements.add(task)
                task.add_done_callback(self._acknowledgements.discard)

        def stopped(turn_key: str) -> None:
            for waiter in self._stop_waiters.get(turn_key, []):
                if not waiter.done():
                    waiter.set_result(None)

        await self._db.subscribe(STOPS_CHANNEL, receive)
        await self._db.subscribe(STOPPED_CHANNEL, stopped)

    async def _acknowledge(self, turn_key: str) -> None:
        try:
            await self._db.publish(STOPPED_CHANNEL, turn_key)
        except Exception as error:  # the presser is told it could not be reached; it was
            log.warning("could not acknowledge a Stop (%s)", type(error).__name__)

    async def forget_seen(self, older_than: timedelta) -> int:
        """Drop seen-message keys older than `older_than`; Slack stops retrying long before."""

        return await self._forget(seen_messages.c.seen_at, older_than)

    async def _forget(self, when: Any, older_than: timedelta) -> int:
        """Delete the rows of `when`'s table whose `when` is older than `older_than`."""

        def work(conn: Connection) -> int:
            result = conn.execute(delete(when.table).where(when < now() - older_than))
            return int(result.rowcount or 0)

        return await self._db.transaction(work)

    # Feedback ------------------------------------------------------------------------

    async def record_feedback(
        self,
        *,
        response_id: str,
        team_id: str,
        channel_id: str,
        message_ts: str,
        user_id: str,
        vote: str,
    ) -> None:
        """Keep a 👍/👎; a second press by the same person replaces the first."""

        def work(conn: Connection) -> None:
            at = now()
            conn.execute(
                insert_into(conn, feedback)
                .values(
                    response_id=response_id,
                    team_id=team_id,
                    channel_id=channel_id,
                    message_ts=message_ts,
                    user_id=user_id,
                    vote=vote,
                    at=at,
                )  # fmt: skip
                .on_conflict_do_update(
                    index_elements=["response_id", "user_id"], set_={"vote": vote, "at": at}
                )
            )

        await self._db.transaction(work)

    async def feedback_counts(self, response_id: str) -> tuple[int, int]:
        """(👍, 👎) for one answer."""

        def work(conn: Connection) -> tuple[int, int]:
            rows = conn.execute(
                select(feedback.c.vote, func.count())
                .where(feedback.c.response_id == response_id)
                .group_by(feedback.c.vote)
            ).all()
            counts = {str(vote): int(count) for vote, count in rows}
            return counts.get("up", 0), counts.get("down", 0)

        return await self._db.transaction(work)

    async def feedback_totals(self) -> dict[str, int]:
        def work(conn: Connection) -> dict[str, int]:
            rows = conn.execute(select(feedback.c.vote, func.count()).group_by(feedback.c.vote))
            return {"up": 0, "down": 0} | {str(vote): int(count) for vote, count in rows}

        return await self._db.transaction(work)

    # Assistant panel threads ----------------------------------------------------------

    async def assistant_thread_started(
        self, team_id: str, channel_id: str, thread_ts: str, viewing_channel_id: str | None
    ) -> None:
        await self._db.transaction(
            lambda conn: _start_assistant_thread(
                conn, team_id, channel_id, thread_ts, viewing_channel_id
            )
        )

    async def assistant_viewing(
        self, team_id: str, channel_id: str, thread_ts: str, viewing: str | None
    ) -> None:
        def work(conn: Connection) -> None:
            _start_assistant_thread(conn, team_id, channel_id, thread_ts, viewing)
            conn.execute(
                update(assistant_threads)
                .where(*_assistant_place(team_id, channel_id, thread_ts))
                .values(viewing_channel_id=viewing)
            )

        await self._db.transaction(work)

    async def assistant_thread(
        self, team_id: str, channel_id: str, thread_ts: str
    ) -> tuple[str | None, bool] | None:
        """(the channel the user views, whether the thread has its title) or None."""

        def work(conn: Connection) -> tuple[str | None, bool] | None:
            row = conn.execute(
                select(assistant_threads.c.viewing_channel_id, assistant_threads.c.titled).where(
                    *_assistant_place(team_id, channel_id, thread_ts)
                )
            ).first()
            return None if row is None else (row[0], bool(row[1]))

        return await self._db.transaction(work)

    async def assistant_titled(self, team_id: str, channel_id: str, thread_ts: str) -> None:
        await self._db.transaction(
            lambda conn: conn.execute(
                update(assistant_threads)
                .where(*_assistant_place(team_id, channel_id, thread_ts))
                .values(titled=True)
            )
        )

    # What was said in between ---------------------------------------------------------

    async def takes_part(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        """True when the bot takes part in this thread: it answered there before, or a
        turn of it is accepted (its first answer may be under way)."""

        place = {"team": team_id, "channel": channel_id, "thread": thread_ts}
        return await self._db.transaction(lambda conn: bool(conn.scalar(_TAKES_PART, place)))

    async def hear_if_taking_part(
        self,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        ts: str,
        text: str,
        files: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """`hear` where the bot takes part in the thread (`takes_part`), in one transaction;
        False, and nothing kept, where it does not."""
        place = {"team": team_id, "channel": channel_id, "thread": thread_ts}
        keep = self._hearing(team_id, channel_id, thread_ts, user_id, ts, text, files)

        def work(conn: Connection) -> bool:
            if not conn.scalar(_TAKES_PART, place):
                return False
            keep(conn)
            return True

        return await self._db.transaction(work)

    async def hear(
        self,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        ts: str,
        text: str,
        files: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Keep a message written in a thread the bot takes part in, until its next turn;
        with references to its files (plain JSON values), read when that turn is answered."""
        await self._db.transaction(
            self._hearing(team_id, channel_id, thread_ts, user_id, ts, text, files)
        )

    @staticmethod
    def _hearing(
        team_id: str,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        ts: str,
        text: str,
        files: Sequence[dict[str, Any]],
    ) -> Work[None]:
        kept_files = json.dumps(list(files)) if files else None

        def work(conn: Connection) -> None:
            thread_id = _touch_thread(conn, team_id, channel_id, thread_ts)
            conn.execute(
                _INSERT_HEARD(conn),
                {
                    "thread_id": thread_id,
                    "user_id": user_id,
                    "message_ts": ts,
                    "text": text,
                    "at": now(),
                    "files": kept_files,
                },
            )

        return work

    async def revise_heard(self, team_id: str, channel_id: str, ts: str, text: str | None) -> int:
        """Its author edited (`text`) or deleted (None) the message at `ts`: what was heard
        of it and not yet sent to the model follows. How many were changed."""

        def work(conn: Connection) -> int:
            in_channel = select(threads.c.id).where(
                threads.c.team_id == team_id, threads.c.channel_id == channel_id
            )
            which = heard_messages.c.thread_id.in_(in_channel) & (heard_messages.c.message_ts == ts)
            if text is None:
                result = conn.execute(delete(heard_messages).where(which))
            else:
                result = conn.execute(update(heard_messages).where(which).values(text=text))
            return int(result.rowcount or 0)

        return await self._db.transaction(work)

    async def forget_heard(self, older_than: timedelta) -> int:
        """Drop heard messages older than `older_than`: text is not kept for threads the
        bot is not asked in again. The text of answers goes after `ANSWERS_KEPT`."""

        def work(conn: Connection) -> None:
            conn.execute(
                update(turns)
                .where(turns.c.answer_text.is_not(None), turns.c.finished_at < now() - ANSWERS_KEPT)
                .values(answer_text=None)
            )

        await self._db.transaction(work)
        return await self._forget(heard_messages.c.at, older_than)

    async def heard_before(
        self, team_id: str, channel_id: str, thread_ts: str, before_ts: str
    ) -> list[HeardMessage]:
        """Every message heard in the thread before `before_ts`, oldest first. They stay
        until a turn that sent them along (or left them out) is stored."""

        def work(conn: Connection) -> list[HeardMessage]:
            place = {"team": team_id, "channel": channel_id, "thread": thread_ts}
            rows = conn.execute(_HEARD_IN_THREAD, place).all()
            earlier = sorted(
                (r for r in rows if float(r[3]) < float(before_ts)), key=lambda r: float(r[3])
            )
            return [
                HeardMessage(int(r[0]), str(r[1]), str(r[2]), str(r[3]), _files(r[4]))
                for r in earlier
            ]

        return await self._db.transaction(work)

    async def answers_in(self, team_id: str, channel_id: str, thread_ts: str) -> list[str]:
        """The whole texts of the bot's answers kept for the thread, oldest first."""

        def work(conn: Connection) -> list[str]:
            rows = conn.execute(
                select(turns.c.answer_text)
                .join(threads, threads.c.id == turns.c.thread_id)
                .where(*_place(team_id, channel_id, thread_ts), turns.c.answer_text.is_not(None))
                .order_by(turns.c.id)
            ).all()
            return [str(row[0]) for row in rows]

        return await self._db.transaction(work)

    # Reports --------------------------------------------------------------------------

    async def usage_totals(self) -> dict[str, int]:
        """Turns and tokens so far, for operators."""

        def work(conn: Connection) -> dict[str, int]:
            row = conn.execute(
                select(
                    func.count(turns.c.id),
                    func.coalesce(func.sum(turns.c.input_tokens), 0),
                    func.coalesce(func.sum(turns.c.output_tokens), 0),
                    func.coalesce(func.sum(turns.c.reasoning_tokens), 0),
                )
            ).one()
            names = ("turns", "input_tokens", "output_tokens", "reasoning_tokens")
            return {name: int(value) for name, value in zip(names, row, strict=True)}

        return await self._db.transaction(work)


def _files(kept: str | None) -> tuple[dict[str, Any], ...]:
    """The file references kept with a heard message."""
    found = json.loads(kept) if kept else []
    return tuple(f for f in found if isinstance(f, dict)) if isinstance(found, list) else ()


def _assistant_place(team_id: str, channel_id: str, thread_ts: str) -> tuple[Any, ...]:
    return (
        assistant_threads.c.team_id == team_id,
        assistant_threads.c.channel_id == channel_id,
        assistant_threads.c.thread_ts == thread_ts,
    )


def _start_assistant_thread(
    conn: Connection, team_id: str, channel_id: str, thread_ts: str, viewing: str | None
) -> None:
    conn.execute(
        insert_into(conn, assistant_threads)
        .values(
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            viewing_channel_id=viewing,
            titled=False,
            started_at=now(),
        )  # fmt: skip
        .on_conflict_do_nothing()
    )
