"""The machine's PostgreSQL for the several-worker tests: emptied before and after each."""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


async def empty_database(url: str = PG_URL) -> None:
    """Drop every table (whatever migrations made them), so the next store starts fresh."""
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
