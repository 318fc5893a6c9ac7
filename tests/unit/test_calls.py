"""Which Slack failures a final write waits out, and which may hide a call carried out."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.calls import Persistence, api_method, maybe_carried_out, passing


def slack_error(status: int, body: dict[str, Any]) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.test/api/chat.update",
        req_args={},
        data=body,
        headers={},
        status_code=status,
    )
    return SlackApiError("failed", response)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("status", "error", "passes", "maybe_done"),
    [
        (200, "internal_error", True, True),
        (200, "fatal_error", True, True),
        (200, "service_unavailable", True, False),
        (200, "request_timeout", True, False),
        (500, "", True, True),
        (503, "", True, True),
        (200, "msg_too_long", False, False),
        (200, "invalid_blocks", False, False),
        (200, "channel_not_found", False, False),
    ],
)
def test_slack_errors_are_told_apart(
    status: int, error: str, passes: bool, maybe_done: bool
) -> None:
    failure = slack_error(status, {"ok": False, "error": error} if error else {})
    assert passing(failure) is passes
    assert maybe_carried_out(failure) is maybe_done


def test_a_call_never_connected_was_not_carried_out_but_a_dropped_one_may_have_been() -> None:
    assert not maybe_carried_out(aiohttp.ClientConnectorError(None, OSError(111, "refused")))  # type: ignore[arg-type]
    assert maybe_carried_out(aiohttp.ServerDisconnectedError())
    assert maybe_carried_out(TimeoutError())


def test_waits_double_up_to_the_longest() -> None:
    persistence = Persistence(first_wait=0.5, longest_wait=3.0)
    assert [persistence.wait(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_the_api_method_of_a_client_method() -> None:
    class Client:
        async def chat_postMessage(self) -> None: ...

        async def conversations_replies(self) -> None: ...

    assert api_method(Client().chat_postMessage) == "chat.postMessage"  # type: ignore[arg-type]
    assert api_method(Client().conversations_replies) == "conversations.replies"  # type: ignore[arg-type]
