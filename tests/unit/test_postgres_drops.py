"""PostgreSQL without a ping before every transaction: a pooled connection that dropped
(a failover, an idle timeout) is found out by the transaction itself, which goes again
once on a new connection, and nothing is done twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event

from bot.store import Store
from tests.support.postgres import empty_database, end_other_connections, needs_postgres, pg_url

PG_URL = pg_url()
pytestmark = needs_postgres


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    await empty_database(PG_URL)
    opened = await Store.open(PG_URL, connections=2)
    yield opened
    await opened.close()
    await empty_database(PG_URL)


async def test_a_dropped_connection_is_replaced_and_the_claim_made_once(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    live = store.live("w1")
    assert await live.accept("k1", "T1", "C1", "1.1", {})  # the pool holds a connection now
    statements: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", executed)
    assert await live.begin("k1") is not None
    event.remove(store.engine, "before_cursor_execute", executed)
    assert len(statements) == 1  # the answer's start is one read

    assert await end_other_connections(PG_URL) > 0
    with caplog.at_level("INFO", logger="bot.store.database"):
        assert await live.accept("k2", "T1", "C1", "2.2", {})  # on a new connection
    assert "connection had dropped" in caplog.text
    assert not await live.accept("k2", "T1", "C1", "2.2", {})  # claimed once
    assert await live.pending() == 2
