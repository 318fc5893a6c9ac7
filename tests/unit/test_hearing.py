"""A message in a thread is kept for the model only where the bot takes part there:
checked and kept in one transaction (SQLite always, PostgreSQL when TEST_DATABASE_URL
is set)."""

from __future__ import annotations

from bot.store import Store
from tests.unit.test_store import database_url  # noqa: F401 - the fixture


async def test_heard_only_in_threads_the_bot_takes_part_in(database_url: str) -> None:  # noqa: F811
    store = await Store.open(database_url)
    assert not await store.hear_if_taking_part("T1", "C1", "1.1", "U2", "1.2", "not for me")
    assert await store.heard_before("T1", "C1", "1.1", before_ts="9.0") == []

    assert await store.live("w1").accept("T1:C1:1.1", "T1", "C1", "1.1", {})  # asked there
    for _ in range(2):  # redelivered: kept once
        assert await store.hear_if_taking_part("T1", "C1", "1.1", "U2", "1.3", "meanwhile")
    [heard] = await store.heard_before("T1", "C1", "1.1", before_ts="9.0")
    assert (heard.user_id, heard.text) == ("U2", "meanwhile")
    assert not await store.hear_if_taking_part("T1", "C1", "5.5", "U2", "5.6", "elsewhere")
    await store.close()
