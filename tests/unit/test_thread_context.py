"""What the model is told a thread holds, as pure functions: what was heard within its
bounds, the bot's answers whole from Slack's copy of the thread, and edits and
deletions read from Slack's payloads."""

from __future__ import annotations

from typing import Any

from bot.conversation.parameters import Parameters
from bot.conversation.request import Said, build_request, most_recent
from bot.conversation.turn import Turn
from bot.slack.blocks import message, preview
from bot.slack.history import markdown_text, recent_said, whole_answers
from bot.slack.payloads import Revision, revision_from_event


def notes(count: int) -> list[Said]:
    return [Said(f"U{i}", f"note {i}") for i in range(count)]


def test_within_the_bounds_everything_is_kept_whole_and_in_order() -> None:
    assert most_recent(notes(3), messages=30, chars=1000) == tuple(notes(3))
    assert most_recent([], messages=30, chars=1000) == ()


def test_beyond_the_bounds_the_oldest_are_left_out_with_a_note() -> None:
    kept = most_recent(notes(35), messages=30, chars=10_000)
    assert kept[0] == Said("", "(5 earlier messages in this thread are left out.)", aside=True)
    assert kept[1:] == tuple(notes(35)[5:])
    # By characters: a message that does not fit whole is left out, with the older ones.
    long = [Said("U1", "a" * 50), Said("U2", "b" * 30), Said("U3", "c" * 30)]
    assert most_recent(long, messages=30, chars=70) == (
        Said("", "(1 earlier message in this thread is left out.)", aside=True),
        Said("U2", "b" * 30),
        Said("U3", "c" * 30),
    )


def test_a_note_reaches_the_model_as_a_plain_user_line() -> None:
    turn = Turn("T1", "C1", "1.0", "U1", "2.0", "so?")
    body = build_request(
        turn,
        Parameters(model="m", instructions="i"),
        previous_response_id="resp_1",
        earlier=most_recent(notes(2), messages=1, chars=100),
    )
    texts = [item["content"][0]["text"] for item in body["input"]]
    assert texts == [
        "(1 earlier message in this thread is left out.)",
        "<@U1>: note 1",
        "<@U1>: so?",
    ]


LONG = "The whole answer, " + "with many words in it " * 20 + "and its end."


def own(text: str, ts: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": text,
                             "ts": ts}  # fmt: skip
    if blocks is not None:
        found["blocks"] = blocks
    return found


def person(text: str, ts: str, user: str = "U2") -> dict[str, Any]:
    return {"type": "message", "user": user, "text": text, "ts": ts}


def test_the_bots_answer_is_read_from_its_markdown_blocks() -> None:
    posted = message(LONG, actions={"type": "actions", "elements": []})
    assert markdown_text(own(posted["text"], "2.0", posted["blocks"])) == LONG
    assert markdown_text(person("hi", "1.0")) is None
    said = recent_said(
        [person("go?", "1.0"), own(posted["text"], "2.0", posted["blocks"])],
        before_ts="3.0",
        bot_user_id="UBOT",
    )
    assert said == (Said("U2", "go?"), Said("", LONG))


def test_a_preview_of_an_answer_the_bot_kept_is_replaced_by_the_whole_answer() -> None:
    other = "Another answer that nobody previewed."
    messages = [person("go?", "1.0"), own(preview(LONG), "2.0"), person("ok", "3.0"),
                own("An answer the bot did not keep.", "4.0")]  # fmt: skip
    whole = whole_answers(messages, [other, LONG], "UBOT")
    assert [m["text"] for m in whole] == ["go?", LONG, "ok", "An answer the bot did not keep."]


def test_the_further_messages_of_a_long_answer_go_with_it() -> None:
    big = LONG * 3
    first, rest = big[:700], big[700:]  # as one answer split over two messages
    messages = [own(preview(first), "2.0"), own(preview(rest), "2.1"), person("ok", "3.0")]
    whole = whole_answers(messages, [big], "UBOT")
    assert [m["text"] for m in whole] == [big, "ok"]


def body(event: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": "T1", "event": event}


def test_edits_and_deletions_in_channels_are_revisions() -> None:
    deleted = {"type": "message", "subtype": "message_deleted", "channel": "C1",
               "channel_type": "channel", "ts": "9.0", "deleted_ts": "5.0",
               "previous_message": {"type": "message", "user": "U2", "ts": "5.0"}}  # fmt: skip
    assert revision_from_event(body(deleted), "UBOT") == Revision("T1", "C1", "5.0", None)
    changed = {"type": "message", "subtype": "message_changed", "channel": "C1",
               "channel_type": "group", "ts": "9.1",
               "message": {"user": "U2", "text": " new ", "ts": "5.0"}}  # fmt: skip
    assert revision_from_event(body(changed), "UBOT") == Revision("T1", "C1", "5.0", "new")


def test_the_bots_own_edits_dms_and_other_events_are_not_revisions() -> None:
    own_edit = {"type": "message", "subtype": "message_changed", "channel": "C1",
                "channel_type": "channel", "message": {"user": "UBOT", "bot_id": "BBOT",
                                                       "text": "x", "ts": "5.0"}}  # fmt: skip
    assert revision_from_event(body(own_edit), "UBOT") is None
    in_dm = {"type": "message", "subtype": "message_deleted", "channel": "D1",
             "channel_type": "im", "deleted_ts": "5.0"}  # fmt: skip
    assert revision_from_event(body(in_dm), "UBOT") is None
    plain = {"type": "message", "channel": "C1", "channel_type": "channel", "user": "U1",
             "text": "hi", "ts": "5.0"}  # fmt: skip
    assert revision_from_event(body(plain), "UBOT") is None
    broken = {"type": "message", "subtype": "message_deleted", "channel": "C1",
              "channel_type": "channel", "deleted_ts": "not a ts"}  # fmt: skip
    assert revision_from_event(body(broken), "UBOT") is None
