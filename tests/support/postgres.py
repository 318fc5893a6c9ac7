"""The machine's PostgreSQL for the several-worker tests: emptied before and after each."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine


def pg_url() -> str:
    """TEST_DATABASE_URL as this test process sees it (its own database under xdist)."""
    return os.environ.get("TEST_DATABASE_URL", "")


# Whether there is a PostgreSQL to test against at all: the same with the machine's URL
# or a test worker's own (tests/conftest.py), so it may be read at import.
needs_postgres = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="TEST_DATABASE_URL is not set: no PostgreSQL to test against",
)


async def empty_database(url: str) -> None:
    """Drop every table (whatever migrations made them), so the next store starts fresh."""
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def database_of_worker(url: str, worker: str) -> str:
    """`url` with a database of its own for this test worker (e.g. `test_gw0`), made if
    it is not there yet."""
    base = make_url(url)
    name = f"{base.database}_{worker}"

    async def make() -> None:
        connection = await asyncpg.connect(
            user=base.username,
            password=base.password,
            host=base.host,
            port=base.port,
            database=base.database,
        )
        try:
            if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(make())
    return base.set(database=name).render_as_string(hide_password=False)


async def end_other_connections(url: str) -> int:
    """End every other connection to the database, as a failover or an idle timeout does;
    how many were ended."""
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        ended = await conn.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    await engine.dispose()
    return int(ended or 0)
