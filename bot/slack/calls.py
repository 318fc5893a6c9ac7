"""Calling the Slack Web API with its limits in mind.

A 429 carries `Retry-After`: wait that long. Interim edits are simply
superseded. What must land (the final text) is retried with backoff through
429s, Slack's own passing errors (`internal_error`, a 5xx …), timeouts and
dropped connections, within a bounded time (`Persistence`); after that it
raises `FinalWriteFailed`, so the caller can tell someone or try again later.

A call Slack may have carried out although its answer was lost (a timeout, a
dropped connection, an `internal_error`) is sent again only if it is safe to
repeat (chat.update), or once a `find` check says it did not land: a post
sent twice would show twice.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.conversation.delivery import DeliveryUnavailable
from bot.slack.call_counter import method_of

log = logging.getLogger(__name__)

SlackCall = Callable[..., Awaitable[AsyncSlackResponse]]
Landed = AsyncSlackResponse | dict[str, Any]  # Slack's answer, or what `find` found
Finder = Callable[[], Awaitable[dict[str, Any] | None]]

# What a call that is only a nicety (a status line, a private reply) may fail with.
SIDE_CALL_ERRORS = (SlackApiError, aiohttp.ClientError, TimeoutError)

# Slack's `error` codes that mean "try again later"; of those, the ones after which
# "some aspect of the operation may have succeeded" (Slack's words).
PASSING_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
MAYBE_CARRIED_OUT = {"internal_error", "fatal_error"}
# Methods a second send would repeat visibly (a message, a stream shown twice).
NOT_REPEATABLE = {"chat.postMessage", "chat.postEphemeral", "chat.startStream", "chat.appendStream"}


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.0f}s")
        self.retry_after = retry_after


class FinalWriteFailed(DeliveryUnavailable):
    """The final text of an answer could not be written to Slack in the time allowed.

    Nothing is marked finished: the same delivery's `finish` may be tried again.
    """


@dataclass(frozen=True)
class Persistence:
    """How long a write that must land keeps trying: `seconds` in all, each attempt at
    most `attempt_seconds`, waits doubling from `first_wait` up to `longest_wait`; and
    at least `settle` before looking for a call whose answer was lost, so that Slack
    has finished it (a post still under way when the client gave up would otherwise
    not be found, and be posted twice)."""

    seconds: float = 120.0
    attempt_seconds: float = 30.0
    first_wait: float = 0.5
    longest_wait: float = 8.0
    settle: float = 2.0

    def wait(self, attempt: int) -> float:
        return min(self.first_wait * 2.0 ** (attempt - 1), self.longest_wait)


FINAL_WRITES = Persistence()


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


def passing(error: SlackApiError) -> bool:
    """Slack failed this time (a 5xx, or an error code that says so): try again later."""
    return error.response.status_code >= 500 or slack_error(error) in PASSING_ERRORS


def maybe_carried_out(error: BaseException) -> bool:
    """Slack may have done what was asked, although the caller was not told so."""
    if isinstance(error, SlackApiError):
        return error.response.status_code >= 500 or slack_error(error) in MAYBE_CARRIED_OUT
    if isinstance(error, aiohttp.ClientConnectorError):
        return False  # never connected, so never sent
    return isinstance(error, aiohttp.ClientError | TimeoutError)


def not_done_yet(error: BaseException) -> bool:
    """Slack did not do what was asked, and a later try may work: it said so (an error
    code that means "try again", not one after which it may have been done), or the
    connection was never made."""
    if isinstance(error, SlackApiError):
        return passing(error) and not maybe_carried_out(error)
    return isinstance(error, aiohttp.ClientConnectorError)


def api_method(method: SlackCall) -> str:
    """`client.chat_postMessage` → `chat.postMessage`."""
    return getattr(method, "__name__", "").replace("_", ".", 1)


class RepeatSafely(AsyncConnectionErrorRetryHandler):
    """slack_sdk's retry on a dropped connection, except for calls a second send would
    show twice: those are left to `must_land`, which looks before it sends again."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if method_of(request.url) in NOT_REPEATABLE:
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


async def once(method: SlackCall, **kwargs: Any) -> AsyncSlackResponse:
    """One call; a 429 is raised as RateLimited so the caller decides what to resend."""
    try:
        return await method(**kwargs)
    except SlackApiError as error:
        wait = retry_after(error)
        if wait is not None:
            raise RateLimited(wait) from error
        raise


async def must_land(method: SlackCall, **kwargs: Any) -> Landed:
    """`land` with the final writes' persistence and no `find`."""
    return await land(method, kwargs)


async def land(
    method: SlackCall,
    kwargs: dict[str, Any],
    *,
    within: Persistence = FINAL_WRITES,
    find: Finder | None = None,
) -> Landed:
    """A call (`method(**kwargs)`) that must succeed, tried again through 429s and
    passing failures until `within.seconds` have gone by; then FinalWriteFailed. Any
    other Slack error (e.g. `msg_too_long`) is raised as it is.

    When Slack may have carried the call out without saying so, it is sent again only
    if the method is safe to repeat, or after `find()` (which sees whether it landed:
    what it returns stands for Slack's answer) found nothing.
    """
    name = api_method(method)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within.seconds
    unsure = False  # sent, but whether it landed is unknown
    for attempt in itertools.count(1):
        looking = unsure and find is not None
        remaining = deadline - loop.time()
        try:
            async with asyncio.timeout(max(min(within.attempt_seconds, remaining), 0.001)):
                if looking and find is not None:
                    found = await find()
                    if found is not None:
                        log.info("%s had landed although its answer was lost", name)
                        return found
                    unsure = False
                    looking = False
                return await once(method, **kwargs)
        except RateLimited as limited:
            last: BaseException = limited
            wait, why = limited.retry_after, "rate limited"
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            last = error
            if isinstance(error, SlackApiError) and not passing(error):
                if not looking:
                    raise
                # Slack will not say (e.g. a missing scope): a message shown twice is
                # better than an answer never shown.
                log.warning("cannot see whether %s landed (%s)", name, slack_error(error))
                unsure = False
                continue
            wait, why = within.wait(attempt), _describe(error)
            if not looking and maybe_carried_out(error):
                if find is None and name in NOT_REPEATABLE:
                    raise  # cannot tell whether it landed: better than showing it twice
                unsure = True
                if find is not None:
                    wait = max(wait, within.settle)
        if loop.time() + wait >= deadline:
            log.warning("%s failed for %.0fs (%s); giving up", name, within.seconds, why)
            raise FinalWriteFailed(
                f"{name} did not land within {within.seconds:g}s ({why})"
            ) from last
        log.warning("%s failed (%s); trying again in %.1fs", name, why, wait)
        await asyncio.sleep(wait)
    raise AssertionError("unreachable")


def _describe(error: BaseException) -> str:
    """For logs: Slack's error code or the exception's type, never a message text."""
    if isinstance(error, SlackApiError):
        return slack_error(error) or f"http {error.response.status_code}"
    return type(error).__name__
