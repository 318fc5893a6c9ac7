"""`GET /healthz`: 200 once the bot is ready and its database answers; 503 when the
database is gone. The PostgreSQL test runs when TEST_DATABASE_URL is set (CI sets it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.conftest import StartBot
from tests.e2e.harness import BotHandle
from tests.support.postgres import needs_postgres, pg_url

PG_URL = pg_url()


async def healthz(bot: BotHandle) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{bot.url}/healthz") as reply,
    ):
        return reply.status, await reply.json()


async def test_healthz_is_200_once_ready_with_the_database_answering(bot: BotHandle) -> None:
    assert await healthz(bot) == (200, {"ok": True, "ready": True, "database": True})


async def admin(sql: str) -> None:
    engine = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


@pytest.fixture
async def own_database() -> AsyncIterator[str]:
    """A PostgreSQL database of the test's own, dropped (whatever holds it) at the end."""
    url = make_url(PG_URL)
    name = f"{url.database}_healthz"
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@needs_postgres
async def test_healthz_is_503_when_the_database_is_gone(
    own_database: str, start_bot: StartBot
) -> None:
    bot = await start_bot(DATABASE_URL=own_database)
    assert (await healthz(bot))[0] == 200

    # The database is dropped under the bot: its connections are ended, new ones refused.
    await admin(f'DROP DATABASE "{make_url(own_database).database}" WITH (FORCE)')
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while (status := await healthz(bot))[0] != 503:
        assert loop.time() < deadline, f"/healthz still says {status}"
        await asyncio.sleep(0.2)
    assert status == (503, {"ok": False, "ready": True, "database": False})
