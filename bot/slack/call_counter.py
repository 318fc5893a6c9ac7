"""Counting every Slack Web API call, as `bot_slack_calls_total{method,status}`.

slack_sdk shows every response, and every failure to get one, to the client's
retry handlers before it decides on a retry. `CountCalls` is such a handler that
never retries: it only counts. bolt copies the app client's handlers into the
client it makes for each request, so the calls listeners make are counted too.
Each attempt counts once: a call retried after a 429 shows as `ratelimited`, then
as what the retry got.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

Count = Callable[[str, str], None]  # (method, status)


def method_of(url: str) -> str:
    """`https://slack.com/api/chat.postMessage?x=1` → `chat.postMessage`."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def status_of(response: HttpResponse | None, error: Exception | None) -> str:
    """ "ok", Slack's error code, "http_<status>" without one, or the failure's type."""
    if response is None:
        return type(error).__name__ if error is not None else "unknown"
    body = response.body if isinstance(response.body, dict) else {}
    if body.get("ok") is True:
        return "ok"
    if isinstance(body.get("error"), str) and body["error"]:
        return str(body["error"])
    if 200 <= response.status_code < 300 and not body:
        return "ok"  # a body that is not JSON (e.g. a file download) that arrived
    return f"http_{response.status_code}"


class CountCalls(AsyncRetryHandler):
    """A retry handler that never retries: it counts each attempt of each call."""

    def __init__(self, count: Count) -> None:
        super().__init__(max_retry_count=0)
        self._count = count

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        self._count(method_of(request.url), status_of(response, error))
        return False
