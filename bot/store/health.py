"""Whether the database answers, for `/healthz`: asked with a cheap `select 1` under a short
timeout, at most once per `fresh` seconds however often probes come, and never twice at
once, so health checks cannot load the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

log = logging.getLogger(__name__)


class Pingable(Protocol):
    async def ping(self) -> None: ...


class DatabaseHealth:
    def __init__(self, store: Pingable, *, timeout: float = 2.0, fresh: float = 1.5) -> None:
        self._store = store
        self._timeout = timeout
        self._fresh = fresh
        self._answered: bool | None = None
        self._asked_at = 0.0
        self._asking: asyncio.Task[bool] | None = None

    async def answers(self) -> bool:
        if self._answered is not None and time.monotonic() - self._asked_at < self._fresh:
            return self._answered
        if self._asking is None:
            self._asking = asyncio.create_task(self._ask())
        # Shielded: a probe that hangs up does not cancel the check the others wait on.
        return await asyncio.shield(self._asking)

    async def _ask(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                await self._store.ping()
        except Exception as error:
            answered, why = False, type(error).__name__
        else:
            answered, why = True, ""
        if not answered and self._answered is not False:
            log.warning("the database does not answer (%s): /healthz says 503", why)
        elif answered and self._answered is False:
            log.info("the database answers again")
        self._answered, self._asked_at, self._asking = answered, time.monotonic(), None
        return answered

    async def close(self) -> None:
        if self._asking is not None:
            self._asking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._asking
