"""The pacer: the first text at once, then at most one edit per interval, newest text each time."""

from __future__ import annotations

import asyncio
import functools
import gc
import weakref

from bot.slack.budget import Deferred
from bot.slack.calls import RateLimited
from bot.slack.pacing import Pacer


async def test_bursts_are_coalesced_into_the_newest_text() -> None:
    written: list[str] = []
    first = asyncio.Event()

    async def write(text: str) -> None:
        written.append(text)
        first.set()

    pacer = Pacer(write, interval=30.0)  # long: nothing but the first write can happen
    pacer.offer("a")
    await first.wait()
    for text in ("ab", "abc", "abcd"):
        pacer.offer(text)
    await pacer.close()
    assert written == ["a"]  # the rest waits for the interval; the final write is the caller's


async def test_after_the_interval_only_the_latest_text_is_sent() -> None:
    written: list[str] = []
    one, two = asyncio.Event(), asyncio.Event()

    async def write(text: str) -> None:
        written.append(text)
        (one if len(written) == 1 else two).set()

    pacer = Pacer(write, interval=0.05)
    pacer.offer("a")
    await one.wait()
    for text in ("ab", "abc"):
        pacer.offer(text)
    await asyncio.wait_for(two.wait(), 5)
    await pacer.close()
    assert written == ["a", "abc"]


async def test_a_rate_limit_pauses_then_sends_the_newest_text() -> None:
    written: list[str] = []
    calls = 0
    done = asyncio.Event()

    async def write(text: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RateLimited(0.05)
        written.append(text)
        done.set()

    pacer = Pacer(write, interval=0.01)
    pacer.offer("old")
    pacer.offer("new")
    await asyncio.wait_for(done.wait(), 5)
    await pacer.close()
    assert written == ["new"] and pacer.sent == "new"


async def test_an_edit_the_budget_defers_goes_later_with_the_newest_text() -> None:
    written: list[str] = []
    calls = 0
    done = asyncio.Event()

    async def write(text: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Deferred(0.05)
        written.append(text)
        if len(written) == 2:
            done.set()

    pacer = Pacer(write, interval=lambda: 0.01)
    pacer.offer("a")
    await asyncio.sleep(0)
    pacer.offer("ab")
    await asyncio.wait_for(done.wait(), 5)
    pacer.offer("abc")
    await pacer.close()
    assert written[0] == "a" and written[1] in ("ab", "abc")


async def test_a_deferral_does_not_hold_up_the_final_write() -> None:
    tried = asyncio.Event()

    async def write(text: str) -> None:
        tried.set()
        raise Deferred(30.0)

    pacer = Pacer(write, interval=0.01)
    pacer.offer("a")
    await tried.wait()
    await asyncio.wait_for(pacer.close(), 1)  # not 30 s


async def test_a_text_offered_as_a_function_is_made_only_when_it_is_sent() -> None:
    written: list[str] = []
    made: list[int] = []
    one, two = asyncio.Event(), asyncio.Event()

    async def write(text: str) -> None:
        written.append(text)
        (one if len(written) == 1 else two).set()

    def making(n: int) -> str:
        made.append(n)
        return f"step {n}"

    pacer = Pacer(write, interval=0.05)
    pacer.offer(lambda: making(0))
    await one.wait()
    for n in (1, 2, 3):
        pacer.offer(functools.partial(making, n))
    await asyncio.wait_for(two.wait(), 5)
    await pacer.close()
    assert written == ["step 0", "step 3"]
    assert made == [0, 3]  # the offers between two edits cost nothing


class Owner:
    """What owns a pacer in the bot (a delivery, an answer's progress): its own method
    writes, so the two refer to each other."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.wrote = asyncio.Event()
        self.pacer = Pacer(self.write, self.pause)

    async def write(self, text: str) -> None:
        self.sent.append(text)
        self.wrote.set()

    def pause(self) -> float:
        return 0.01


async def test_a_closed_pacer_lets_its_owner_go_without_the_garbage_collector() -> None:
    owner = Owner()
    owner.pacer.offer("text")
    await asyncio.wait_for(owner.wrote.wait(), 5)  # the first text goes at once
    await owner.pacer.close()
    assert owner.sent == ["text"]
    owner.pacer.offer("after close")  # nothing more is sent
    await asyncio.sleep(0.02)
    assert owner.sent == ["text"]

    gone = weakref.ref(owner)
    gc.disable()  # only reference counting may free it
    try:
        del owner
        assert gone() is None
    finally:
        gc.enable()
