"""Where the store's transactions run.

Each store operation is one plain function over a SQLAlchemy `Connection`,
run as one transaction:

- SQLite: a synchronous engine on one connection, held open, in one worker
  thread: one hop to that thread per transaction (aiosqlite makes several per
  statement), no pool checkout per transaction, and SQLite has one writer anyway.
- PostgreSQL: the async engine (asyncpg), each transaction run through
  `run_sync`; several workers share the database. No connection is held between
  transactions but the one that LISTENs: what orders the turns of a thread is kept
  in the rows themselves (see `live.py`), so a dropped connection loses nothing.
  Workers reach each other with NOTIFY, heard on one LISTEN connection per worker
  that is opened again whenever it drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import queue
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import URL, Connection, Engine, create_engine, event, func, make_url, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Connection], T]

# libpq's sslmode values; asyncpg's `ssl` argument takes the same names.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# URL options that are libpq's (what platforms hand out) or asyncpg's own, and the asyncpg
# connect argument each becomes. SQLAlchemy would hand every option to asyncpg.connect()
# as a string under its own name, and asyncpg refuses names it does not know.
_ARGUMENTS: dict[str, str] = {
    "sslmode": "ssl",
    "ssl": "ssl",
    "connect_timeout": "timeout",
    "timeout": "timeout",
    "command_timeout": "command_timeout",
    "target_session_attrs": "target_session_attrs",
    "application_name": "server_settings",
}
_NUMBERS = ("timeout", "command_timeout")
_LEFT_TO_SQLALCHEMY = ("host", "prepared_statement_cache_size")  # it reads these itself
# Options asyncpg takes from the environment instead of connect arguments.
_FROM_ENVIRONMENT = {
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
}


@dataclass(frozen=True)
class AsyncpgOptions:
    """A PostgreSQL URL made fit for asyncpg: the URL without its options, the connect
    arguments they map to, and the names of options with no asyncpg equivalent."""

    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()


def asyncpg_options(url: str) -> AsyncpgOptions:
    """Map a URL's libpq-style options (`?sslmode=require`, …) to asyncpg's connect
    arguments; raise ValueError (naming the option, never its value) for a wrong value."""
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    ignored: list[str] = []
    for name, value in parsed.query.items():
        if name in _LEFT_TO_SQLALCHEMY:
            continue
        if isinstance(value, tuple):  # the option given more than once: the last wins
            value = value[-1]
        argument = _ARGUMENTS.get(name)
        if argument is None:
            ignored.append(name)
        elif argument == "ssl":
            if value not in SSL_MODES:
                raise ValueError(f"{name} must be one of {', '.join(SSL_MODES)}")
            connect_args["ssl"] = value
        elif argument in _NUMBERS:
            try:
                connect_args[argument] = float(value)
            except ValueError:
                raise ValueError(f"{name} must be a number of seconds") from None
        elif argument == "server_settings":
            connect_args["server_settings"] = {name: value}
        else:
            connect_args[argument] = value
    kept = {k: v for k, v in parsed.query.items() if k in _LEFT_TO_SQLALCHEMY}
    return AsyncpgOptions(parsed.set(query=kept), connect_args, tuple(sorted(ignored)))


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

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine the transactions run on (for its events: benchmarks,
        tests)."""
        raise NotImplementedError

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
        self._connection: Connection | None = None  # used in the thread only
        # Transactions go to the thread through a plain queue and come back with one
        # call_soon_threadsafe: a tenth of the CPU of a ThreadPoolExecutor's hop.
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="sqlite", daemon=True)
        self._thread.start()
        self._closing = False

    def _serve(self) -> None:
        while (job := self._queue.get()) is not None:
            loop, future, work = job
            try:
                result = self._run(work)
            except BaseException as error:  # handed to the caller, whatever it is
                with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                    loop.call_soon_threadsafe(_failed, future, error)
            else:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_succeeded, future, result)

    def _run(self, work: Work[T]) -> T:
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
            connection = self._connection = self._engine.connect()
        with connection.begin():
            return work(connection)

    def _close(self, _connection: Connection) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None
        self._engine.dispose()

    @property
    def engine(self) -> Engine:
        return self._engine

    async def transaction(self, work: Work[T]) -> T:
        if self._closing:
            raise RuntimeError("the database is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((loop, future, work))
        return await future

    async def close(self) -> None:
        """Close once the transactions asked for before are done."""
        if self._closing:
            return
        self._closing = True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put((loop, future, self._close))
        with contextlib.suppress(Exception):
            await future
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)


_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Work[Any]]


def _succeeded(future: asyncio.Future[T], result: T) -> None:
    if not future.done():  # the caller may have been cancelled meanwhile
        future.set_result(result)


def _failed(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class AsyncPostgres(Database):
    dialect = "postgresql"

    def __init__(self, url: str, connections: int) -> None:
        options = asyncpg_options(url)
        for name in options.ignored:
            hint = _FROM_ENVIRONMENT.get(name)
            log.warning(
                "DATABASE_URL option %s is ignored: asyncpg has no such option%s",
                name,
                f" (set {hint} in the environment instead)" if hint else "",
            )
        # Connections are held only for a transaction (and one for LISTEN), so their
        # number is bounded by the setting, however many answers stream. No ping before
        # each transaction (a round trip each): a connection found dropped is retried
        # once instead (see `transaction`).
        self._engine: AsyncEngine = create_async_engine(
            options.url,
            connect_args=options.connect_args,
            pool_size=connections,
            max_overflow=0,
            hide_parameters=True,  # an error's text must not carry message text into logs
        )
        # The LISTEN connection is held, never pooled: opened afresh each time.
        self._listening: AsyncEngine = create_async_engine(
            options.url,
            connect_args=options.connect_args,
            poolclass=NullPool,
            hide_parameters=True,
        )
        self._listener = Listener(self._listening)

    @property
    def engine(self) -> Engine:
        return self._engine.sync_engine

    async def transaction(self, work: Work[T]) -> T:
        """Run `work` in one transaction. A connection that turns out to have dropped (a
        failover, an idle timeout) before the commit is replaced, and the work run once
        more: PostgreSQL rolled back all of it with the session. A drop during the commit
        is raised: whether it committed cannot be known."""
        for attempt in (1, 2):
            async with self._engine.connect() as connection:
                transaction = await connection.begin()
                try:
                    result = await connection.run_sync(work)
                except DBAPIError as error:
                    with contextlib.suppress(Exception):
                        await transaction.rollback()
                    if attempt == 1 and error.connection_invalidated:
                        log.info("a database connection had dropped; trying on a new one")
                        continue
                    raise
                except BaseException:
                    with contextlib.suppress(Exception):
                        await transaction.rollback()
                    raise
                await transaction.commit()
                return result
        raise AssertionError("unreachable")

    async def publish(self, channel: str, message: str) -> bool:
        await self.transaction(lambda conn: conn.execute(select(func.pg_notify(channel, message))))
        return True

    async def subscribe(self, channel: str, receive: Callable[[str], None]) -> None:
        await self._listener.add(channel, receive)

    async def close(self) -> None:
        await self._listener.close()
        await self._listening.dispose()
        await self._engine.dispose()


class Listener:
    """One connection that LISTENs on every subscribed channel for this worker, opened
    again (with backoff) whenever it drops: a failover, an idle-session timeout, a NAT.

    A drop is noticed at once when the server ends the session (asyncpg's termination
    listener), and within PING_SECONDS when the peer silently vanishes (a ping that gets
    no answer). NOTIFYs sent while it is down are lost; whoever waits for an answer to
    one (a Stop's acknowledgement) must not rely on it arriving.
    """

    NAME = "bot-listen"  # its application_name, set once it listens (operators, tests)
    PING_SECONDS = 30.0
    BACKOFF = (0.05, 10.0)  # first and longest wait between attempts, in seconds

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._receivers: dict[str, Callable[[str], None]] = {}
        self._connection: AsyncConnection | None = None
        self._driver: Any = None  # the asyncpg connection under it
        self._listening: set[str] = set()
        self._lost = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None

    async def add(self, channel: str, receive: Callable[[str], None]) -> None:
        self._receivers[channel] = receive
        if self._watch is None:
            await self._connect()  # at start: a database out of reach stops the start
            self._watch = asyncio.create_task(self._keep_listening())
        elif self._driver is not None and channel not in self._listening:
            with contextlib.suppress(Exception):  # if it dropped, _connect listens again
                await self._listen(channel)

    def _notified(self, _driver: Any, _pid: int, channel: str, payload: str) -> None:
        receive = self._receivers.get(channel)
        if receive is None:
            return
        try:
            receive(payload)
        except Exception:
            log.exception("a NOTIFY on %s could not be handled", channel)

    def _ended(self, driver: Any) -> None:
        if driver is self._driver:  # not one dropped on purpose
            self._lost.set()

    async def _listen(self, channel: str) -> None:
        await self._driver.add_listener(channel, self._notified)
        self._listening.add(channel)

    async def _connect(self) -> None:
        self._lost.clear()
        self._listening = set()
        connection = await self._engine.connect()
        try:
            raw = await connection.get_raw_connection()
            self._connection, self._driver = connection, raw.driver_connection
            self._driver.add_termination_listener(self._ended)
            while missing := [c for c in self._receivers if c not in self._listening]:
                for channel in missing:
                    await self._listen(channel)
            # Named once every LISTEN is in place: seen in pg_stat_activity, it is ready.
            await self._driver.execute(f"SET application_name = '{self.NAME}'")
        except BaseException:
            await self._drop()
            raise

    async def _alive(self) -> bool:
        try:
            await asyncio.wait_for(self._driver.fetchval("SELECT 1"), self.PING_SECONDS / 3)
        except Exception:
            return False
        return True

    async def _keep_listening(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.PING_SECONDS)
            if not self._lost.is_set() and await self._alive():
                continue
            log.warning("the LISTEN connection dropped; opening it again")
            await self._drop()
            delay, longest = self.BACKOFF
            while True:
                try:
                    await self._connect()
                except Exception as error:
                    log.warning(
                        "cannot LISTEN again yet (%s); next try in %.1f s",
                        type(error).__name__,
                        delay,
                    )
                    # Jitter: workers that lost the database together do not return at once.
                    await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                    delay = min(delay * 2, longest)
                else:
                    log.info("listening again")
                    break

    async def _drop(self) -> None:
        """Close the connection for good: it is never handed back to the pool."""
        connection, self._connection, self._driver = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.invalidate(), 5)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 5)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._drop()


def connect(url: str, connections: int) -> Database:
    if url.startswith("sqlite"):
        return ThreadedSQLite(url)
    if url.startswith("postgresql"):
        return AsyncPostgres(url, connections)
    raise ValueError("only SQLite and PostgreSQL databases are supported")
