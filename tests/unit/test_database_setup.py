"""Starting on PostgreSQL: workers racing on an empty database, and URLs with driver options.

The PostgreSQL tests run when TEST_DATABASE_URL is set (CI sets it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from bot.store import Store
from bot.store.database import asyncpg_options
from tests.support.postgres import needs_postgres, pg_url
from tests.unit.test_store import HEAD, reset_postgres

PG_URL = pg_url()


@pytest.fixture
async def empty_postgres() -> AsyncIterator[str]:
    await reset_postgres(PG_URL)
    yield PG_URL
    await reset_postgres(PG_URL)


@needs_postgres
async def test_three_workers_starting_together_on_an_empty_database_all_start(
    empty_postgres: str,
) -> None:
    opened = await asyncio.gather(
        *(Store.open(empty_postgres) for _ in range(3)), return_exceptions=True
    )
    failures = [repr(o) for o in opened if isinstance(o, BaseException)]
    stores = [o for o in opened if isinstance(o, Store)]
    try:
        assert failures == []
        assert [await s.revision() for s in stores] == [HEAD] * 3
    finally:
        for store in stores:
            await store.close()


def test_libpq_sslmode_becomes_asyncpg_s_ssl_argument() -> None:
    options = asyncpg_options("postgresql+asyncpg://u@h/db?sslmode=require")
    assert options.connect_args == {"ssl": "require"}
    assert options.url.render_as_string(hide_password=False) == "postgresql+asyncpg://u@h/db"
    assert options.ignored == ()


def test_other_libpq_options_are_mapped_or_named_and_dropped() -> None:
    options = asyncpg_options(
        "postgresql+asyncpg://u:pw@h:5433/db?sslmode=verify-full&connect_timeout=7"
        "&application_name=answers&sslrootcert=/etc/ca.pem&channel_binding=require"
    )
    assert options.connect_args == {
        "ssl": "verify-full",
        "timeout": 7.0,
        "server_settings": {"application_name": "answers"},
    }
    assert options.ignored == ("channel_binding", "sslrootcert")
    assert options.url.query == {}
    assert (options.url.host, options.url.port, options.url.password) == ("h", 5433, "pw")


def test_a_wrong_sslmode_is_one_clear_error_without_the_url() -> None:
    with pytest.raises(ValueError, match="sslmode") as raised:
        asyncpg_options("postgresql+asyncpg://u:secret-pw@h/db?sslmode=sometimes")
    assert "secret-pw" not in str(raised.value)


@needs_postgres
async def test_a_url_with_sslmode_disable_and_unknown_options_opens(
    empty_postgres: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = empty_postgres.replace("postgresql+asyncpg://", "postgres://", 1)
    caplog.set_level(logging.WARNING)
    from bot.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        SLACK_BOT_TOKEN="xoxb-t",
        SLACK_SIGNING_SECRET="s",
        OPENAI_API_KEY="k",
        DATABASE_URL=f"{url}?sslmode=disable&channel_binding=prefer&application_name=answers",
    )
    store = await Store.open(settings.DATABASE_URL)
    try:
        assert await store.revision() == HEAD
    finally:
        await store.close()
    assert "channel_binding" in caplog.text
