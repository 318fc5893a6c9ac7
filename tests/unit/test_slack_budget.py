"""The workspace's Slack budget: urgent calls wait for room, interim edits leave room for
every live answer's final, intervals widen with live answers; and the ledger in the
database is one budget for several workers (SQLite always, PostgreSQL when
TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bot.slack.budget import Deferred, Limit, MemoryLedger, SlackBudget
from bot.store import Store
from bot.store.slack_calls import SlackCallLedger

TINY = {"chat.update": Limit(4, 0.5)}  # 4 calls in any half second


class Calls:
    """A stand-in for a Slack Web API method: notes when it was called."""

    def __init__(self) -> None:
        self.at: list[float] = []

    async def __call__(self, **kwargs: Any) -> Any:
        self.at.append(time.monotonic())
        return {"ok": True}


def most_in_any_window(times: list[float], seconds: float) -> int:
    return max((sum(1 for u in times if t <= u < t + seconds) for t in times), default=0)


async def test_urgent_calls_wait_for_room_and_never_exceed_the_limit() -> None:
    budget = SlackBudget(MemoryLedger(), TINY, in_flight=0.0)
    calls = Calls()
    answers = [budget.for_answer("T1", "C1") for _ in range(10)]
    await asyncio.gather(*(a.urgent("chat.update", calls)() for a in answers))
    assert len(calls.at) == 10
    assert most_in_any_window(calls.at, 0.5) <= 4
    assert calls.at[-1] - calls.at[0] >= 0.9  # ten calls at four a half second


async def test_first_texts_then_interim_edits_leave_places_for_what_is_owed() -> None:
    budget = SlackBudget(MemoryLedger(), TINY, in_flight=0.0)
    calls = Calls()
    one, two = budget.for_answer("T1", "C1"), budget.for_answer("T1", "C2")
    one.begin()
    two.begin()
    edit_one, edit_two = one.interim("chat.update", calls), two.interim("chat.update", calls)
    await edit_one()  # a first text: 2 of 4 places kept for the two finals
    with pytest.raises(Deferred) as deferred:
        await edit_one()  # an interim edit also keeps one for the other's first text
    assert 0 < deferred.value.wait <= 0.5
    await edit_two()  # that first text
    with pytest.raises(Deferred):
        await edit_one()  # 2 used, 2 kept
    two.end()  # one final fewer is owed: room for one more interim edit
    await edit_one()
    assert len(calls.at) == 3
    await two.urgent("chat.update", calls)()  # and the finals still fit
    assert len(calls.at) == 4


async def test_with_more_answers_live_than_places_finals_go_first() -> None:
    budget = SlackBudget(MemoryLedger(), TINY, in_flight=0.0)
    calls = Calls()
    answers = [budget.for_answer("T1", f"C{i}") for i in range(3)]
    for answer in answers:
        answer.begin()
    await answers[0].interim("chat.update", calls)()  # 4 places, 3 finals owed: one first text
    with pytest.raises(Deferred):
        await answers[1].interim("chat.update", calls)()
    for answer in answers:
        answer.end()
        await answer.urgent("chat.update", calls)()  # every final goes at once
    assert len(calls.at) == 4


async def test_another_workspace_has_a_budget_of_its_own() -> None:
    budget = SlackBudget(MemoryLedger(), TINY, in_flight=0.0)
    calls = Calls()
    for team in ("T1", "T1", "T1", "T1", "T2", "T2", "T2", "T2"):
        await budget.for_answer(team, "C1").if_room("chat.update", calls)()
    with pytest.raises(Deferred):
        await budget.for_answer("T2", "C1").if_room("chat.update", calls)()


async def test_each_answers_interval_widens_as_answers_multiply_and_narrows_as_they_end() -> None:
    budget = SlackBudget(MemoryLedger())  # Slack's limits: chat.update 45 a minute
    answers = [budget.for_answer("T1", f"C{i}") for i in range(20)]
    interval = answers[0].interval("chat.update", 1.0)
    answers[0].begin()
    assert interval() == 1.0  # alone: BOT_UPDATE_INTERVAL
    for answer in answers:
        answer.begin()
    assert interval() == pytest.approx(60 * 20 / 25)  # what 20 finals leave, shared by 20
    for answer in answers[1:]:
        answer.end()
    assert interval() == 1.0


async def test_two_workers_spend_one_budget_through_the_database(store: Store) -> None:
    first, second = SlackCallLedger(store), SlackCallLedger(store)
    takes = [
        ledger.take("T1:chat.update", 5, 60, team="T1", live=0, keep=0)
        for ledger in (first, second)
        for _ in range(4)
    ]
    waits = await asyncio.gather(*takes)
    assert sorted(w == 0 for w in waits) == [False] * 3 + [True] * 5
    assert all(0 < w <= 60 for w in waits if w)


async def test_interim_calls_leave_places_for_the_other_workers_live_answers(store: Store) -> None:
    first, second = SlackCallLedger(store), SlackCallLedger(store)
    take = "T1:chat.update", 6, 60  # 6 calls a minute
    # The first worker has three answers live; it says so with its call.
    assert await first.take(*take, team="T1", live=3, keep=0) == 0
    # The second, with one answer of its own, keeps a place for its final and one for
    # each of the first worker's: 1 + 1 used, 4 kept.
    assert await second.take(*take, team="T1", live=1, keep=1) == 0
    assert await second.take(*take, team="T1", live=1, keep=1) > 0
    for ledger in (first, first, first, second):  # the finals
        assert await ledger.take(*take, team="T1", live=0, keep=0) == 0
