"""Usage counted per workspace, user, channel, model and UTC day, on a real database:
every response counts, also when several workers add at once (PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.conversation.budgets import DailyBudgets
from bot.conversation.turn import Turn
from bot.responses.events import Usage
from bot.store import Store
from bot.store.usage import Spent, UsageStore
from tests.support.postgres import empty_database, needs_postgres, pg_url

PG_URL = pg_url()
DAY = date(2026, 11, 30)


async def reset_postgres() -> None:
    await empty_database(PG_URL)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=needs_postgres)],
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/usage.db"
        return
    await reset_postgres()
    yield PG_URL
    await reset_postgres()


def spent(user: str = "U1", channel: str = "C1", model: str = "gpt-4.1", **n: int) -> Spent:
    return Spent(team_id="T1", user_id=user, channel_id=channel, model=model, **n)


async def test_each_response_adds_to_its_days_row(database_url: str) -> None:
    store = await Store.open(database_url)
    usage = UsageStore(store)
    await usage.add(spent(input_tokens=80, output_tokens=20, total_tokens=100, answers=1), DAY)
    await usage.add(spent(input_tokens=30, output_tokens=20, total_tokens=50), DAY)
    await usage.add(spent(user="U2", total_tokens=7, answers=1, asks=1), DAY)
    await usage.add(spent(total_tokens=1000), DAY - timedelta(days=1))  # yesterday's
    await usage.add(
        Spent(team_id="T2", user_id="U1", channel_id="C1", model="gpt-4.1", total_tokens=5),
        DAY,
    )  # another workspace's

    assert await usage.spent_on(DAY, "T1", "U1") == (150, 157)
    assert await usage.spent_on(DAY, "T1", "U3") == (0, 157)
    day = await usage.workspace_on(DAY, "T1")
    assert (day.answers, day.asks, day.total_tokens) == (2, 1, 157)
    assert day.by_user == (("U1", 150), ("U2", 7))
    rows = await usage.since(DAY)
    first = next(r for r in rows if r.team_id == "T1" and r.user_id == "U1")
    assert (first.answers, first.input_tokens, first.output_tokens, first.total_tokens) == (
        1, 110, 40, 150,
    )  # fmt: skip
    assert len(await usage.since(DAY - timedelta(days=1))) == 4
    await store.close()


async def test_an_answers_rounds_add_tokens_but_count_one_answer(database_url: str) -> None:
    """Every response of an answer (tool rounds, a chain started over) is counted."""
    store = await Store.open(database_url)
    usage = UsageStore(store)
    budgets = DailyBudgets(usage, user_tokens=500, clock=lambda: datetime(2026, 11, 30, 20, 40))
    turn = Turn("T1", "C1", "1.1", "U1", "1.2", "look it up", one_off=True)
    for tokens in (100, 250, 50):  # three rounds of one /ask
        await store.run(budgets.spent(turn, "gpt-4.1", Usage(tokens - 10, 10, tokens)))
    assert await usage.spent_on(DAY, "T1", "U1") == (400, 400)
    [row] = await usage.since(DAY)
    assert (row.answers, row.asks, row.total_tokens) == (1, 1, 400)
    await store.close()


@needs_postgres
async def test_two_workers_adding_at_once_lose_no_response(database_url: str) -> None:
    first, second = await Store.open(database_url), await Store.open(database_url)
    adds = [
        UsageStore(store).add(spent(total_tokens=3, answers=1), DAY)
        for _ in range(60)
        for store in (first, second)
    ]
    await asyncio.gather(*adds)
    assert await UsageStore(first).spent_on(DAY, "T1", "U1") == (360, 360)
    [row] = await UsageStore(second).since(DAY)
    assert row.answers == 120
    await first.close()
    await second.close()
