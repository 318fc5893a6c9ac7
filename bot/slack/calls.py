"""Calling the Slack Web API with its limits in mind.

A 429 carries `Retry-After`: wait that long. What must land (the final text)
is retried a bounded number of times; interim edits are simply superseded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

log = logging.getLogger(__name__)

MUST_LAND_ATTEMPTS = 6
SlackCall = Callable[..., Awaitable[AsyncSlackResponse]]


# What a call that is only a nicety (a status line, a private reply) may fail with.
SIDE_CALL_ERRORS = (SlackApiError, aiohttp.ClientError, TimeoutError)


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.0f}s")
        self.retry_after = retry_after


def slack_error(error: SlackApiError) -> str:
    """The `error` code of a failed call, e.g. `msg_too_long`."""
    data = getattr(error.response, "data", None)
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def retry_after(error: SlackApiError) -> float | None:
    if error.response.status_code != 429:
        return None
    value = error.response.headers.get("Retry-After") or error.response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0


async def once(method: SlackCall, **kwargs: Any) -> AsyncSlackResponse:
    """One call; a 429 is raised as RateLimited so the caller decides what to resend."""
    try:
        return await method(**kwargs)
    except SlackApiError as error:
        wait = retry_after(error)
        if wait is not None:
            raise RateLimited(wait) from error
        raise


async def must_land(method: SlackCall, **kwargs: Any) -> AsyncSlackResponse:
    """A call that must succeed: waits out 429s and failures to connect."""
    attempts = MUST_LAND_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return await once(method, **kwargs)
        except RateLimited as limited:
            if attempt == attempts:
                raise
            log.warning("slack rate limited; waiting %.1fs", limited.retry_after)
            await asyncio.sleep(limited.retry_after)
        except aiohttp.ClientConnectorError:
            # Not connected, so not sent: safe to send again. (A timeout or a dropped
            # connection may follow a call Slack carried out: a second post would
            # show twice.)
            if attempt == attempts:
                raise
            await asyncio.sleep(min(0.5 * 2**attempt, 8.0))
    raise AssertionError("unreachable")
