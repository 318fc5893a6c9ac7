"""The start-up heap is frozen so the collector's full passes (which stop the event loop,
and every ack with it) walk only what answers allocate; garbage made later still goes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.heap import freeze_start_up_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session runs as before


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> Node:
    first, second = Node(), Node()
    first.other, second.other = second, first
    return first


def test_what_lives_at_start_is_out_of_the_collector_s_walks(unfrozen: None) -> None:
    start_up = cycle()
    freeze_start_up_heap()
    assert gc.get_freeze_count() > 0
    assert not any(o is start_up for o in gc.get_objects())  # no generation holds it


def test_cycles_made_after_the_start_are_still_collected(unfrozen: None) -> None:
    freeze_start_up_heap()
    later = cycle()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None
