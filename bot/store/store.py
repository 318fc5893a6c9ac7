"""The bot's database: SQLAlchemy async, SQLite by default, PostgreSQL for several workers."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.store import migrate
from bot.store.tables import (
    assistant_threads,
    feedback,
    heard_messages,
    seen_messages,
    threads,
    turns,
)

log = logging.getLogger(__name__)


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
    error_code: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL with synchronous=NORMAL: commits stop waiting on fsync on the event loop.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ThreadState:
    chain_head: str | None
    heard: bool  # people wrote in the thread since the bot's last turn


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, url: str, *, concurrency: int = 16) -> Store:
        """Connect and bring the schema up to date.

        On PostgreSQL each running answer holds one connection for its thread
        lock, so the pool is sized for `concurrency` answers plus short queries.
        """
        if url.startswith("sqlite") and ":memory:" in url:
            options: dict[str, Any] = {}  # one connection by nature (SQLAlchemy's StaticPool)
        elif url.startswith("sqlite"):
            # SQLite has one writer: one connection (and its one aiosqlite thread)
            # serves every query in order, instead of many contending for the lock.
            options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 120}
        else:
            options = {"pool_pre_ping": True, "pool_size": concurrency + 4, "max_overflow": 8}
        engine = create_async_engine(url, **options)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        await migrate.upgrade(engine)
        return cls(engine)

    async def close(self) -> None:
        await self._engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    # Seen messages ---------------------------------------------------------

    async def forget_seen(self, older_than: timedelta) -> int:
        """Drop seen-message keys older than `older_than`; Slack stops retrying long before."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(seen_messages).where(seen_messages.c.seen_at < now() - older_than)
            )
        return int(result.rowcount or 0)

    # Threads and turns ------------------------------------------------------

    async def chain_head(self, team_id: str, channel_id: str, thread_ts: str) -> str | None:
        return (await self.thread_state(team_id, channel_id, thread_ts)).chain_head

    async def thread_state(self, team_id: str, channel_id: str, thread_ts: str) -> ThreadState:
        """The chain head, and whether messages were heard since the last turn: one query."""
        async with self._engine.connect() as conn:
            return await self._thread_state(conn, team_id, channel_id, thread_ts)

    async def begin_turn(
        self, key: str, team_id: str, channel_id: str, thread_ts: str
    ) -> ThreadState | None:
        """Claim the user's message `key` and read its thread's state, in one transaction;
        None when the message was claimed before (a redelivery)."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(seen_messages.insert().values(key=key, seen_at=now()))
                return await self._thread_state(conn, team_id, channel_id, thread_ts)
        except IntegrityError:
            return None

    @staticmethod
    async def _thread_state(
        conn: AsyncConnection, team_id: str, channel_id: str, thread_ts: str
    ) -> ThreadState:
        heard = (
            select(heard_messages.c.id).where(heard_messages.c.thread_id == threads.c.id).exists()
        )
        row = (
            await conn.execute(
                select(threads.c.chain_head, heard).where(
                    threads.c.team_id == team_id,
                    threads.c.channel_id == channel_id,
                    threads.c.thread_ts == thread_ts,
                )
            )
        ).first()
        return ThreadState(None, False) if row is None else ThreadState(row[0], bool(row[1]))

    async def record_turn(self, turn: TurnRecord) -> None:
        """Keep the turn; move the thread's chain head to its response if the API stored it."""
        head = turn.response_id if turn.stored else None
        async with self._engine.begin() as conn:
            thread_id = await self._touch_thread(
                conn, turn.team_id, turn.channel_id, turn.thread_ts, head, turn.finished_at
            )
            await conn.execute(
                turns.insert().values(
                    thread_id=thread_id,
                    user_id=turn.user_id,
                    message_ts=turn.message_ts,
                    response_id=turn.response_id,
                    previous_response_id=turn.previous_response_id,
                    status=turn.status,
                    error_code=turn.error_code,
                    input_tokens=turn.input_tokens,
                    output_tokens=turn.output_tokens,
                    total_tokens=turn.total_tokens,
                    started_at=turn.started_at,
                    finished_at=turn.finished_at,
                )
            )

    async def reset_chain(self, team_id: str, channel_id: str, thread_ts: str) -> None:
        """Forget a thread's chain head (its response expired or is unknown upstream)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(threads)
                .where(
                    threads.c.team_id == team_id,
                    threads.c.channel_id == channel_id,
                    threads.c.thread_ts == thread_ts,
                )
                .values(chain_head=None, updated_at=now())
            )

    async def _touch_thread(
        self,
        conn: AsyncConnection,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        head: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """The thread's id, creating the thread if new; moves its chain head to `head` if given."""
        at = at or now()
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        changes: dict[str, Any] = {"updated_at": at, **({"chain_head": head} if head else {})}
        # One atomic upsert on both engines: two workers cannot create a thread twice.
        thread_id = await conn.scalar(
            dialect.insert(threads)
            .values(
                team_id=team_id,
                channel_id=channel_id,
                thread_ts=thread_ts,
                chain_head=head,
                created_at=at,
                updated_at=at,
            )  # fmt: skip
            .on_conflict_do_update(
                index_elements=["team_id", "channel_id", "thread_ts"], set_=changes
            )
            .returning(threads.c.id)
        )
        assert thread_id is not None
        return int(thread_id)

    @asynccontextmanager
    async def thread_lock(
        self, team_id: str, channel_id: str, thread_ts: str
    ) -> AsyncIterator[None]:
        """Held while a turn of the thread is answered, so turns of one thread run one
        after the other across workers. Within one process the TurnQueue already
        orders them; SQLite means one worker, so only PostgreSQL takes a lock."""
        if self._engine.dialect.name != "postgresql":
            yield
            return
        digest = hashlib.blake2b(f"{team_id}:{channel_id}:{thread_ts}".encode(), digest_size=8)
        key = int.from_bytes(digest.digest(), "big", signed=True)
        async with self._engine.connect() as conn:
            await conn.execute(select(func.pg_advisory_lock(key)))
            try:
                yield
            finally:
                await conn.execute(select(func.pg_advisory_unlock(key)))

    # Feedback ------------------------------------------------------------------

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
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(feedback).where(
                    feedback.c.response_id == response_id, feedback.c.user_id == user_id
                )
            )
            await conn.execute(
                feedback.insert().values(
                    response_id=response_id, team_id=team_id, channel_id=channel_id,
                    message_ts=message_ts, user_id=user_id, vote=vote, at=now(),
                )
            )  # fmt: skip

    async def feedback_counts(self, response_id: str) -> tuple[int, int]:
        """(👍, 👎) for one answer."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(feedback.c.vote, func.count())
                    .where(feedback.c.response_id == response_id)
                    .group_by(feedback.c.vote)
                )
            ).all()
        counts = {str(vote): int(count) for vote, count in rows}
        return counts.get("up", 0), counts.get("down", 0)

    async def feedback_totals(self) -> dict[str, int]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(select(feedback.c.vote, func.count()).group_by(feedback.c.vote))
            ).all()
        totals = {"up": 0, "down": 0}
        totals.update({str(vote): int(count) for vote, count in rows})
        return totals

    # Assistant panel threads -----------------------------------------------------

    async def assistant_thread_started(
        self, channel_id: str, thread_ts: str, viewing_channel_id: str | None
    ) -> None:
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        async with self._engine.begin() as conn:
            await conn.execute(
                dialect.insert(assistant_threads)
                .values(
                    channel_id=channel_id,
                    thread_ts=thread_ts,
                    viewing_channel_id=viewing_channel_id,
                    titled=False,
                    started_at=now(),
                )  # fmt: skip
                .on_conflict_do_nothing()
            )

    async def assistant_viewing(self, channel_id: str, thread_ts: str, viewing: str | None) -> None:
        await self.assistant_thread_started(channel_id, thread_ts, viewing)
        async with self._engine.begin() as conn:
            await conn.execute(
                update(assistant_threads)
                .where(
                    assistant_threads.c.channel_id == channel_id,
                    assistant_threads.c.thread_ts == thread_ts,
                )
                .values(viewing_channel_id=viewing)
            )

    async def assistant_thread(
        self, channel_id: str, thread_ts: str
    ) -> tuple[str | None, bool] | None:
        """(the channel the user views, whether the thread has its title) or None."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        assistant_threads.c.viewing_channel_id, assistant_threads.c.titled
                    ).where(
                        assistant_threads.c.channel_id == channel_id,
                        assistant_threads.c.thread_ts == thread_ts,
                    )
                )
            ).first()
        return None if row is None else (row[0], bool(row[1]))

    async def assistant_titled(self, channel_id: str, thread_ts: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(assistant_threads)
                .where(
                    assistant_threads.c.channel_id == channel_id,
                    assistant_threads.c.thread_ts == thread_ts,
                )
                .values(titled=True)
            )

    # What was said in between --------------------------------------------------------

    async def takes_part(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        """True when the bot has answered in this thread before."""
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(threads.c.id).where(
                    threads.c.team_id == team_id,
                    threads.c.channel_id == channel_id,
                    threads.c.thread_ts == thread_ts,
                )
            )
        return found is not None

    async def hear(
        self, team_id: str, channel_id: str, thread_ts: str, user_id: str, ts: str, text: str
    ) -> None:
        """Keep a message written in a thread the bot takes part in, until its next turn."""
        async with self._engine.begin() as conn:
            thread_id = await self._touch_thread(conn, team_id, channel_id, thread_ts)
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            await conn.execute(
                dialect.insert(heard_messages)
                .values(thread_id=thread_id, user_id=user_id, message_ts=ts, text=text, at=now())
                .on_conflict_do_nothing()
            )

    async def take_heard(
        self, team_id: str, channel_id: str, thread_ts: str, before_ts: str, limit: int = 30
    ) -> list[tuple[str, str]]:
        """(user, text) of the messages heard before `before_ts`, oldest first; then forgets
        them. At most the latest `limit` are returned."""
        async with self._engine.begin() as conn:
            thread_id = await conn.scalar(
                select(threads.c.id).where(
                    threads.c.team_id == team_id,
                    threads.c.channel_id == channel_id,
                    threads.c.thread_ts == thread_ts,
                )
            )
            if thread_id is None:
                return []
            rows = (
                await conn.execute(
                    select(heard_messages.c.id, heard_messages.c.user_id, heard_messages.c.text,
                           heard_messages.c.message_ts)
                    .where(heard_messages.c.thread_id == thread_id)
                )
            ).all()  # fmt: skip
            earlier = sorted(
                (r for r in rows if float(r[3]) < float(before_ts)), key=lambda r: float(r[3])
            )
            await conn.execute(
                delete(heard_messages).where(heard_messages.c.id.in_([r[0] for r in earlier]))
            )
        return [(str(r[1]), str(r[2])) for r in earlier[-limit:]]

    # Reports -----------------------------------------------------------------

    async def usage_totals(self) -> dict[str, int]:
        """Turns and tokens so far, for operators."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        func.count(turns.c.id),
                        func.coalesce(func.sum(turns.c.input_tokens), 0),
                        func.coalesce(func.sum(turns.c.output_tokens), 0),
                    )
                )
            ).one()
        return {"turns": int(row[0]), "input_tokens": int(row[1]), "output_tokens": int(row[2])}
