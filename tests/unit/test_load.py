"""The adaptive limit on running answers: shrinks while the loop lags, grows back after."""

from __future__ import annotations

import asyncio

from bot.conversation.load import AdaptiveLimit


async def test_lag_shrinks_the_limit_and_quiet_grows_it_back() -> None:
    limit = AdaptiveLimit(64, least=4, lag_limit=0.02)
    await limit.adjust(0.5)
    assert limit.limit == 44
    for _ in range(20):
        await limit.adjust(0.5)
    assert limit.limit == 4  # never below `least`: answers keep flowing
    await limit.adjust(0.0)
    assert limit.limit == 5
    for _ in range(100):
        await limit.adjust(0.0)
    assert limit.limit == 64  # never above `most`


async def test_answers_over_the_limit_wait_for_a_slot() -> None:
    limit = AdaptiveLimit(2, least=1, period=3600)
    release, two_running = asyncio.Event(), asyncio.Event()
    started: list[int] = []

    async def answer(n: int) -> None:
        async with limit.slot():
            started.append(n)
            if len(started) == 2:
                two_running.set()
            await release.wait()

    tasks = [asyncio.create_task(answer(n)) for n in range(3)]
    await asyncio.wait_for(two_running.wait(), 5)
    assert limit.running == 2 and started == [0, 1]
    for _ in range(10):
        await asyncio.sleep(0)
    assert started == [0, 1]  # the third waits
    release.set()
    await asyncio.gather(*tasks)
    assert started == [0, 1, 2] and limit.running == 0
    await limit.close()


async def test_a_grown_limit_lets_a_waiting_answer_start() -> None:
    limit = AdaptiveLimit(8, least=1, period=3600)  # only this test adjusts it
    for _ in range(10):
        await limit.adjust(1.0)
    assert limit.limit == 1
    hold, started = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with limit.slot():
            await hold.wait()

    async def second() -> None:
        async with limit.slot():
            started.set()

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    for _ in range(10):
        await asyncio.sleep(0)
    assert not started.is_set()
    await limit.adjust(0.0)  # the loop is quiet again: one more may run
    await asyncio.wait_for(started.wait(), 5)
    hold.set()
    await asyncio.gather(*tasks)
    await limit.close()
