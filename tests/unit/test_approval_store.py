"""Pending approvals on a real database (SQLite; PostgreSQL when TEST_DATABASE_URL is set):
kept once, decided once, stale when the thread moved on, due when past their time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store import Store
from bot.store.approvals import APPROVED, DENIED, EXPIRED, PENDING, ApprovalStore
from tests.unit.test_store import database_url, turn  # noqa: F401 - the fixture

THREAD = ("T1", "C1", "1.1")


async def test_an_approval_is_decided_once_even_by_presses_at_once(database_url: str) -> None:  # noqa: F811
    store = await Store.open(database_url)
    try:
        await store.record_turn(turn("resp_ask", stored=True))  # the thread's head
        approvals = ApprovalStore(store)
        await approvals.keep("resp_ask", THREAD, "U1", {"requests": []}, timedelta(minutes=15))
        await approvals.keep("resp_ask", THREAD, "U1", {"other": 1}, timedelta(minutes=15))
        row = await approvals.get("resp_ask")
        assert row is not None and row.state == PENDING and row.about == {"requests": []}
        await approvals.placed("resp_ask", {"ts": "9.9"})

        results = await asyncio.gather(
            approvals.decide("resp_ask", APPROVED), approvals.decide("resp_ask", DENIED)
        )
        assert sorted(moved for _, moved in results) == [False, True]
        row = await approvals.get("resp_ask")
        assert row is not None and row.state in (APPROVED, DENIED) and row.place == {"ts": "9.9"}
        assert await approvals.due() == []
    finally:
        await store.close()


async def test_stale_and_late_approvals_expire(database_url: str) -> None:  # noqa: F811
    store = await Store.open(database_url)
    try:
        approvals = ApprovalStore(store)
        await store.record_turn(turn("resp_old", stored=True))
        await approvals.keep("resp_old", THREAD, "U1", {}, timedelta(minutes=15))
        await store.record_turn(turn("resp_new", stored=True, ts="1.2"))  # the thread went on
        row, moved = await approvals.decide("resp_old", APPROVED)
        assert moved and row is not None and row.state == EXPIRED

        await approvals.keep("resp_late", ("T1", "C1", "2.2"), "U1", {}, timedelta(seconds=-1))
        [due] = await approvals.due()
        assert due.key == "resp_late"
        row, moved = await approvals.decide("resp_late", EXPIRED)
        assert moved and await approvals.due() == []
    finally:
        await store.close()
