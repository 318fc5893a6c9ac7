"""Answers under way that a person may stop (the Stop button), in this process."""

from __future__ import annotations

import asyncio


class Stops:
    def __init__(self) -> None:
        self._under_way: dict[str, asyncio.Event] = {}
        self._stopped_by: dict[str, str] = {}

    def watch(self, key: str) -> asyncio.Event:
        """The event set when someone stops the answer to `key`."""
        event = self._under_way[key] = asyncio.Event()
        return event

    def forget(self, key: str) -> None:
        self._under_way.pop(key, None)
        self._stopped_by.pop(key, None)

    def stop(self, key: str, user_id: str) -> bool:
        """Stop the answer to `key`; False when it is not under way (here)."""
        event = self._under_way.get(key)
        if event is None or event.is_set():
            return False
        self._stopped_by[key] = user_id
        event.set()
        return True

    def stopped_by(self, key: str) -> str:
        return self._stopped_by.get(key, "")
