"""SQLite's transactions, each one hop to the database's own thread on one held
connection: WAL with synchronous=NORMAL, run in the order they were asked for, a
failed one rolled back without harm to the next, a caller that gave up harmless."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text

from bot.store import Store
from bot.store.database import Work
from bot.store.tables import seen_messages

CLAIM = text("INSERT INTO seen_messages (key, seen_at) VALUES (:k, '2026-11-30')")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    yield opened
    await opened.close()  # once: a second close does nothing


def claim(key: str) -> Work[None]:
    def work(conn: Connection) -> None:
        conn.execute(CLAIM, {"k": key})

    return work


async def keys(store: Store) -> list[str]:
    found = await store.run(lambda conn: list(conn.scalars(select(seen_messages.c.key))))
    return sorted(str(key) for key in found)


async def test_commits_do_not_wait_on_fsync_and_keys_hold(store: Store) -> None:
    def pragmas(conn: Connection) -> tuple[object, ...]:
        names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        return tuple(conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names)

    assert await store.run(pragmas) == ("wal", 1, 1, 5000)  # synchronous 1: NORMAL


async def test_transactions_run_one_at_a_time_in_order_on_one_thread(store: Store) -> None:
    threads: list[int] = []
    order: list[str] = []

    def noted(key: str) -> Work[None]:
        def work(conn: Connection) -> None:
            threads.append(threading.get_ident())
            order.append(key)
            claim(key)(conn)

        return work

    await asyncio.gather(*(store.run(noted(f"k{n:02}")) for n in range(30)))
    assert order == await keys(store) == [f"k{n:02}" for n in range(30)]
    assert len(set(threads)) == 1 and threads[0] != threading.get_ident()


async def test_a_failed_transaction_is_rolled_back_and_the_next_goes_on(store: Store) -> None:
    def half_then_fail(conn: Connection) -> None:
        claim("half")(conn)
        claim("half")(conn)  # the same key again: refused

    with pytest.raises(Exception, match="UNIQUE"):
        await store.run(half_then_fail)
    await store.run(claim("next"))
    assert await keys(store) == ["next"]


async def test_a_caller_that_gives_up_does_not_stop_the_others(store: Store) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(conn: Connection) -> None:
        started.set()
        release.wait(5)
        claim("slow")(conn)

    waiting = asyncio.create_task(store.run(slow))
    await asyncio.to_thread(started.wait, 5)
    after = asyncio.create_task(store.run(claim("after")))
    waiting.cancel()
    release.set()
    await after
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await keys(store) == ["after", "slow"]  # the work itself was done


async def test_closing_finishes_what_was_asked_first(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    store = await Store.open(url)
    pending = [asyncio.create_task(store.run(claim(f"k{n}"))) for n in range(5)]
    await asyncio.sleep(0)
    await store.close()
    await asyncio.gather(*pending)
    with pytest.raises(RuntimeError, match="closed"):
        await store.run(claim("late"))
    again = await Store.open(url)
    assert await keys(again) == [f"k{n}" for n in range(5)]
    await again.close()
