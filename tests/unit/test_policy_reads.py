"""What the policies read before admitting a turn (the channel's settings, the day's
tokens) is read in the transaction that starts the answer, and admitting then reads
nothing more; on a real database (SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.conversation.budgets import DailyBudgets
from bot.conversation.channel_settings import ChannelSettings
from bot.conversation.parameters import Parameters
from bot.conversation.policy import Policies, Refusal
from bot.conversation.turn import Turn
from bot.store import Store
from bot.store.channel_settings import ChannelSettingsStore
from bot.store.usage import Spent, UsageStore

DEFAULTS = Parameters(model="gpt-4.1", instructions="Be brief.")
TURN = Turn("T1", "C1", "1.1", "U1", "1.1", "hello")
EVENING = datetime(2026, 11, 30, 20, 40, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    yield opened
    await opened.close()


class Transactions:
    def __init__(self, store: Store) -> None:
        self.count = 0
        event.listen(store.engine, "begin", self._began)

    def _began(self, _conn: Any) -> None:
        self.count += 1


async def started(store: Store, policy: Policies) -> Transactions:
    """The turn accepted, then its answer started: the transactions from its start on."""
    live = store.live("w1")
    assert await live.accept(TURN.key, *TURN.thread, {})
    transactions = Transactions(store)
    assert await live.begin(TURN.key, policy.prepare(TURN)) is not None
    return transactions


async def test_settings_and_the_days_tokens_come_with_the_start(store: Store) -> None:
    await ChannelSettingsStore(store).change("T1", "C1", {"model": "gpt-5"}, by="U9")
    await UsageStore(store).add(
        Spent("T1", "U1", "C1", "gpt-4.1", total_tokens=600), EVENING.date()
    )
    settings = ChannelSettings(ChannelSettingsStore(store))
    budgets = DailyBudgets(UsageStore(store), user_tokens=500, clock=lambda: EVENING)
    policy = Policies(settings, budgets)

    transactions = await started(store, policy)
    assert transactions.count == 1  # the start, with both reads
    decision = await policy.admit(TURN, DEFAULTS)
    assert isinstance(decision, Refusal) and "daily limit of 500" in decision.text
    assert await settings.admit(TURN, DEFAULTS) == replace(DEFAULTS, model="gpt-5")
    assert transactions.count == 1  # admitting read nothing more
    assert settings.prepare(TURN) is None  # kept: nothing to read for a while


async def test_a_read_from_another_day_is_not_used(store: Store) -> None:
    await UsageStore(store).add(
        Spent("T1", "U1", "C1", "gpt-4.1", total_tokens=600), EVENING.date()
    )
    now = [EVENING]
    budgets = DailyBudgets(UsageStore(store), user_tokens=500, clock=lambda: now[0])
    await started(store, Policies(budgets))
    now[0] = EVENING + timedelta(hours=4)  # past midnight: a new day, nothing spent
    assert await budgets.admit(TURN, DEFAULTS) == DEFAULTS
