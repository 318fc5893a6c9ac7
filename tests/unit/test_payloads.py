"""Which Slack payloads are turns for the bot, and what they ask."""

from __future__ import annotations

from typing import Any

from bot.slack.payloads import strip_mention, turn_from_command, turn_from_event


def body(event: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event": event}


MENTION = {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi there", "ts": "10.1",
           "channel": "C1"}  # fmt: skip


def test_a_mention_is_a_turn_in_its_own_thread() -> None:
    turn = turn_from_event(body(MENTION), "UBOT")
    assert turn is not None
    assert (turn.team_id, turn.channel_id, turn.thread_ts) == ("T1", "C1", "10.1")
    assert (turn.user_id, turn.message_ts, turn.text) == ("U1", "10.1", "hi there")
    assert not turn.one_off


def test_a_mention_in_a_thread_continues_that_thread() -> None:
    turn = turn_from_event(body({**MENTION, "ts": "12.5", "thread_ts": "10.1"}), "UBOT")
    assert turn is not None and turn.thread_ts == "10.1" and turn.message_ts == "12.5"


def test_dm_messages_are_turns_and_other_channel_messages_are_not() -> None:
    dm = {"type": "message", "channel_type": "im", "user": "U1", "text": "hello", "ts": "5.0",
          "channel": "D1"}  # fmt: skip
    assert turn_from_event(body(dm), "UBOT") is not None
    assert turn_from_event(body({**dm, "channel_type": "channel"}), "UBOT") is None


def test_bots_the_bot_itself_and_non_person_subtypes_are_ignored() -> None:
    dm = {"type": "message", "channel_type": "im", "user": "U1", "text": "x", "ts": "5.0",
          "channel": "D1"}  # fmt: skip
    assert turn_from_event(body({**dm, "bot_id": "B2"}), "UBOT") is None
    assert turn_from_event(body({**dm, "user": "UBOT"}), "UBOT") is None
    for subtype in ("message_changed", "message_deleted", "channel_join", "bot_message"):
        assert turn_from_event(body({**dm, "subtype": subtype}), "UBOT") is None
    assert turn_from_event(body({**dm, "subtype": "file_share"}), "UBOT") is not None


def test_malformed_events_are_not_turns() -> None:
    malformed = [None, {}, {"type": "app_mention"}, {**MENTION, "channel": 5},
                 {**MENTION, "ts": ""}]  # fmt: skip
    for event in malformed:
        assert turn_from_event(body(event) if event is not None else {}, "UBOT") is None


def test_strip_mention_removes_every_mention_of_the_bot_only() -> None:
    assert strip_mention("<@UBOT> ask <@U2> about <@UBOT|bot> it", "UBOT") == "ask <@U2> about it"
    assert strip_mention("  <@UBOT>  ", "UBOT") == ""
    assert strip_mention("line one\n<@UBOT> line two", "UBOT") == "line one\n line two"


def test_ask_is_a_one_off_turn() -> None:
    turn = turn_from_command(
        {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "text": "  why? ",
            "trigger_id": "t1",
        }  # fmt: skip
    )
    assert turn.one_off and turn.text == "why?" and turn.key == "T1:C1:ask:t1"
