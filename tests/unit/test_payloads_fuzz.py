"""`turn_from_event` never raises, whatever Slack (or anyone) sends; a Turn it makes is sane."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.payloads import turn_from_event

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def either(*plausible: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(plausible), json_values)


slack_ts = st.integers(min_value=0, max_value=10**6).map(lambda n: f"1690000000.{n:06d}")
events = st.fixed_dictionaries(
    {},
    optional={
        "type": either("app_mention", "message"),
        "subtype": either(None, "bot_message", "file_share", "thread_broadcast"),
        "user": either("U1", "UBOT", ""),
        "bot_id": either(None, "B1"),
        "bot_profile": json_values,
        "channel": either("C1", "D1", ""),
        "channel_type": either("im", "channel"),
        "ts": st.one_of(slack_ts, json_values),
        "thread_ts": st.one_of(slack_ts, json_values),
        "text": st.one_of(st.text(max_size=40), json_values),
        "team": json_values,
    },
)
bodies = st.one_of(
    st.fixed_dictionaries(
        {"event": st.one_of(events, json_values)},
        optional={"team_id": json_values, "type": json_values},
    ),
    json_values,
)
bot_user_ids = st.one_of(st.none(), st.sampled_from(["UBOT", ""]), st.text(max_size=12))


@settings(max_examples=300, deadline=None, database=None)
@given(body=bodies, bot_user_id=bot_user_ids)
def test_turn_from_event_never_raises_and_its_turns_are_sane(
    body: Any, bot_user_id: str | None
) -> None:
    turn = turn_from_event(body, bot_user_id)
    if turn is None:
        return
    event = body["event"]
    assert event["type"] in ("app_mention", "message")
    assert isinstance(turn.user_id, str) and turn.user_id and turn.user_id != bot_user_id
    assert isinstance(turn.channel_id, str) and turn.channel_id
    assert float(turn.message_ts) >= 0 and float(turn.thread_ts) >= 0
    assert isinstance(turn.text, str) and turn.text == turn.text.strip()
    assert isinstance(turn.team_id, str)
    assert not turn.one_off
