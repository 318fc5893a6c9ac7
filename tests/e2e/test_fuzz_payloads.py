"""Fuzzed Slack payloads: signed envelopes around random JSON never get a 5xx (issue 3).

One bot takes every example; afterwards a normal mention must still be answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender, new_event_id
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def either(*plausible: Any) -> st.SearchStrategy[Any]:
    """A plausible value for a field most of the time, any JSON value otherwise."""
    return st.one_of(st.sampled_from(plausible), json_values)


slack_ts = st.integers(min_value=0, max_value=999_999).map(lambda n: f"1690000000.{n:06d}")

events = st.fixed_dictionaries(
    {},
    optional={
        "type": either("app_mention", "message", "reaction_added", "app_home_opened", "???"),
        "subtype": either(None, "bot_message", "message_changed", "file_share", "channel_join"),
        "user": either("U1", "UBOT", "", "W123"),
        "bot_id": either(None, "B1", "BBOT"),
        "channel": either("C1", "D1", "G1", ""),
        "channel_type": either("im", "channel", "group", "mpim"),
        "ts": st.one_of(slack_ts, json_values),
        "thread_ts": st.one_of(slack_ts, json_values),
        "event_ts": st.one_of(slack_ts, json_values),
        "text": either("<@UBOT> hi", "<@UBOT>", "", "hello"),
        "team": either("T1", None),
        "blocks": json_values,
        "files": json_values,
        "message": json_values,
        "previous_message": json_values,
    },
).flatmap(
    lambda known: st.dictionaries(st.text(max_size=10), json_values, max_size=3).map(
        lambda extra: {**extra, **known}
    )
)

envelopes = st.fixed_dictionaries(
    {"event": st.one_of(events, json_values)},
    optional={
        "type": either("event_callback", "url_verification", "app_rate_limited", "block_actions"),
        "team_id": either("T1", None),
        "api_app_id": either("A1"),
        "event_id": either("Ev1"),
        "event_time": either(1_690_000_000),
        "authorizations": json_values,
        "challenge": json_values,
        "is_ext_shared_channel": json_values,
    },
).map(lambda body: {"type": "event_callback", "event_id": new_event_id(), **body})

header_values = st.one_of(
    st.sampled_from(["1", "2", "x", "-1", ""]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
)
headers = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {"X-Slack-Retry-Num": header_values, "X-Slack-Retry-Reason": header_values}
    ),
)


@pytest.fixture
async def then_a_mention_is_answered(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> AsyncIterator[None]:
    """After every example: the bot settles and still answers a normal mention."""
    yield
    await bot.idle()
    fake_model.enqueue(answer("Still answering."))
    event = mention("<@UBOT> are you alright?", channel="C-final")
    assert (await slack.event(bot, event)).status == 200
    [message] = await answer_in(bot, fake_slack, "C-final", event["ts"])
    assert message.visible == "Still answering."


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    # One bot takes every example, on purpose: what one payload did must not harm the next.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.one_of(envelopes, json_values), sent_headers=headers)
async def test_fuzzed_signed_payloads_never_get_a_5xx(
    bot: BotHandle,
    slack: SlackSender,
    then_a_mention_is_answered: None,
    body: Any,
    sent_headers: dict[str, str],
) -> None:
    started = time.monotonic()
    reply = await slack.raw(bot, json.dumps(body), headers=sent_headers)
    assert reply.status < 500, (reply.status, reply.text)
    assert time.monotonic() - started < 3  # Slack's acknowledgement deadline
