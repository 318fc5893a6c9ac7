"""The bot's database: SQLAlchemy async, SQLite by default, PostgreSQL for several workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.store import migrate
from bot.store.tables import seen_messages, threads, turns

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


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect and bring the schema up to date."""
        engine = create_async_engine(url, pool_pre_ping=not url.startswith("sqlite"))
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

    async def claim(self, key: str) -> bool:
        """True the first time `key` is claimed, by any worker; False ever after."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(seen_messages.insert().values(key=key, seen_at=now()))
        except IntegrityError:
            return False
        return True

    async def forget_seen(self, older_than: timedelta) -> int:
        """Drop seen-message keys older than `older_than`; Slack stops retrying long before."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(seen_messages).where(seen_messages.c.seen_at < now() - older_than)
            )
        return int(result.rowcount or 0)

    # Threads and turns ------------------------------------------------------

    async def chain_head(self, team_id: str, channel_id: str, thread_ts: str) -> str | None:
        async with self._engine.connect() as conn:
            return await conn.scalar(
                select(threads.c.chain_head).where(
                    threads.c.team_id == team_id,
                    threads.c.channel_id == channel_id,
                    threads.c.thread_ts == thread_ts,
                )
            )

    async def record_turn(self, turn: TurnRecord) -> None:
        """Keep the turn; move the thread's chain head to its response if the API stored it."""
        async with self._engine.begin() as conn:
            thread_id = await self._thread_id(conn, turn.team_id, turn.channel_id, turn.thread_ts)
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
            if turn.stored and turn.response_id:
                await conn.execute(
                    update(threads)
                    .where(threads.c.id == thread_id)
                    .values(chain_head=turn.response_id, updated_at=turn.finished_at)
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

    async def _thread_id(
        self, conn: AsyncConnection, team_id: str, channel_id: str, thread_ts: str
    ) -> int:
        values = dict(
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            created_at=now(),
            updated_at=now(),
        )
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        # Insert-if-absent is atomic on both engines, so two workers cannot race it.
        await conn.execute(dialect.insert(threads).values(**values).on_conflict_do_nothing())
        thread_id = await conn.scalar(
            select(threads.c.id).where(
                threads.c.team_id == team_id,
                threads.c.channel_id == channel_id,
                threads.c.thread_ts == thread_ts,
            )
        )
        assert thread_id is not None
        return int(thread_id)

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
