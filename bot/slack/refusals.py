"""Requests refused for their signature: counted, and told to the operator in at most one
line a minute, so that a wrong SLACK_SIGNING_SECRET is seen (every request from Slack
is then refused) without a flood of lines, and without any request's body.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

log = logging.getLogger(__name__)

MOST_SKEW = 5 * 60  # seconds: Slack's (and slack_sdk's) limit on a request's age
EVERY = 60.0  # seconds between two log lines, at least


def reason(headers: Mapping[str, Sequence[str]], now: float) -> str:
    """Why a request's signature did not verify: `unsigned` (no signature headers),
    `stale_timestamp` (older or newer than five minutes: a replay, or a wrong clock), or
    `bad_signature` (most often, a wrong SLACK_SIGNING_SECRET)."""
    timestamp = next(iter(headers.get("x-slack-request-timestamp") or ()), "")
    signature = next(iter(headers.get("x-slack-signature") or ()), "")
    if not timestamp or not signature:
        return "unsigned"
    try:
        if abs(now - int(timestamp)) > MOST_SKEW:
            return "stale_timestamp"
    except ValueError:
        return "stale_timestamp"
    return "bad_signature"


class Refusals:
    """Counts each refused request (`count(reason)`) and logs a summary at most every
    `every` seconds: the first refusal at once, later ones with the next line."""

    def __init__(
        self,
        count: Callable[[str], None],
        *,
        every: float = EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._count = count
        self._every = every
        self._clock = clock
        self._unlogged: Counter[str] = Counter()
        self._logged_at: float | None = None

    def refused(self, headers: Mapping[str, Sequence[str]]) -> None:
        why = reason(headers, time.time())
        self._count(why)
        self._unlogged[why] += 1
        now = self._clock()
        if self._logged_at is not None and now - self._logged_at < self._every:
            return
        self._logged_at = now
        total = sum(self._unlogged.values())
        counts = ", ".join(f"{n} {why}" for why, n in sorted(self._unlogged.items()))
        self._unlogged.clear()
        log.warning(
            "refused %s request(s) to /slack/events that Slack did not sign with "
            "SLACK_SIGNING_SECRET (%s); if Slack's own requests are refused, check "
            "SLACK_SIGNING_SECRET (app settings → Basic Information → Signing Secret)",
            total,
            counts,
        )
