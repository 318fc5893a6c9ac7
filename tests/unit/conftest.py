"""Unit-test fixtures: a Slack client pointed at the fake Slack; a store on SQLite and on
the machine's PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.store import Store
from tests.fakes.slack_api import FakeSlack
from tests.support.postgres import empty_database, pg_url


@pytest.fixture
def client(fake_slack: FakeSlack) -> AsyncWebClient:
    """The bot's Slack client, as it is made in bot/main.py, aimed at `fake_slack`."""
    return AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store, once on SQLite and once on PostgreSQL (skipped without one)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/store.db"
    if request.param == "postgresql":
        url = pg_url()
        if not url:
            pytest.skip("TEST_DATABASE_URL is not set")
        await empty_database(url)
    opened = await Store.open(url)
    yield opened
    await opened.close()
    if request.param == "postgresql":
        await empty_database(url)
