"""Where the store's transactions run.

Each store operation is one plain function over a SQLAlchemy `Connection`,
run as one transaction:

- SQLite: a synchronous engine on one connection, in one worker thread. One
  hop to that thread per transaction (aiosqlite makes several per statement)
  costs about a third of the database CPU per answer (`bench/`), and SQLite has
  one writer anyway.
- PostgreSQL: the async engine (asyncpg), each transaction run through
  `run_sync`; several workers share the database. No connection is held between
  transactions (but LISTEN's): what orders the turns of a thread is kept in the
  rows themselves (see `live.py`), so a dropped connection loses nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

T = TypeVar("T")
Work = Callable[[Connection], T]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL with synchronous=NORMAL: commits do not wait on fsync.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def lock_id_of(key: str) -> int:
    """A PostgreSQL advisory lock id for `key`."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Database:
    """Runs transactions; `publish`/`subscribe` carry short messages between workers."""

    dialect: str

    async def transaction(self, work: Work[T]) -> T:
        raise NotImplementedError

    async def publish(self, channel: str, message: str) -> bool:
        """Send `message` to every worker subscribed to `channel`; False if there are
        no other workers to reach (SQLite)."""
        return False

    async def subscribe(self, channel: str, receive: Callable[[str], None]) -> None:
        """Call `receive` with each message published on `channel`."""

    async def close(self) -> None:
        raise NotImplementedError


class ThreadedSQLite(Database):
    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        # The contract's URLs name the async driver; the thread uses the standard one.
        sync_url = url.replace("sqlite+aiosqlite://", "sqlite://", 1)
        options: dict[str, Any] = {"pool_size": 1, "max_overflow": 0}
        if ":memory:" in sync_url:
            options = {}  # one connection by nature
        # hide_parameters: an error's text must not carry message text into the logs.
        self._engine: Engine = create_engine(sync_url, hide_parameters=True, **options)
        event.listen(self._engine, "connect", _sqlite_pragmas)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite")

    def _run(self, work: Work[T]) -> T:
        with self._engine.begin() as connection:
            return work(connection)

    async def transaction(self, work: Work[T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._run, work)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=True)


class AsyncPostgres(Database):
    dialect = "postgresql"

    def __init__(self, url: str, connections: int) -> None:
        # Connections are held only for a transaction (and one for LISTEN), so their
        # number is bounded by the setting, however many answers stream.
        self._engine: AsyncEngine = create_async_engine(
            url,
            pool_pre_ping=True,
            pool_size=connections,
            max_overflow=0,
            hide_parameters=True,  # an error's text must not carry message text into logs
        )
        self._listeners: list[AsyncConnection] = []

    async def transaction(self, work: Work[T]) -> T:
        async with self._engine.begin() as connection:
            return await connection.run_sync(work)

    async def publish(self, channel: str, message: str) -> bool:
        async with self._engine.begin() as connection:
            await connection.execute(select(func.pg_notify(channel, message)))
        return True

    async def subscribe(self, channel: str, receive: Callable[[str], None]) -> None:
        # A connection of its own, held open: LISTEN lasts as long as it does.
        connection = await self._engine.connect()
        self._listeners.append(connection)
        raw = await connection.get_raw_connection()
        await raw.driver_connection.add_listener(  # type: ignore[union-attr]
            channel, lambda _conn, _pid, _channel, payload: receive(payload)
        )

    async def close(self) -> None:
        for connection in self._listeners:
            await connection.close()
        await self._engine.dispose()


def connect(url: str, connections: int) -> Database:
    if url.startswith("sqlite"):
        return ThreadedSQLite(url)
    return AsyncPostgres(url, connections)
