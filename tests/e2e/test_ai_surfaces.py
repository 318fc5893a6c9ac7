"""Slack's AI surfaces (issue 4): the Assistant panel, Stop and feedback buttons,
joining a thread late, and hearing what people said between two mentions.

Each test drives the bot through signed Slack payloads and asserts what Slack was
asked to show (FakeSlack) and what the model was sent (FakeModel).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.__main__ import usage
from bot.slack import assistant
from bot.store import Store
from bot.store.tables import feedback, heard_messages
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import (
    assistant_thread_context_changed,
    assistant_thread_started,
    block_action,
    channel_message,
    dm,
    mention,
    new_ts,
)
from tests.e2e.presses import STOP, button, ephemerals_to, press
from tests.fakes.responses_api import FakeModel, Script, answer, http_error, replay, split_words
from tests.fakes.slack_api import FakeSlack, Message

UP, DOWN = "feedback_up", "feedback_down"
THANKS = "Thanks for the feedback!"


# -- helpers ---------------------------------------------------------------------------


def slow(text: str, delay: float) -> Script:
    """An answer streamed word by word, `delay` seconds between words."""
    return answer(text, chunks=split_words(text), delay=delay)


def said(request_json: dict[str, Any]) -> list[tuple[str, str]]:
    """A request's input as (role, text) pairs; a message's parts joined by " | "."""
    return [
        (item["role"], " | ".join(part["text"] for part in item["content"]))
        for item in request_json["input"]
    ]


def block(message: Message, block_id: str) -> dict[str, Any] | None:
    """The message's block with that block_id, if it has one."""
    return next((b for b in message.blocks or [] if b.get("block_id") == block_id), None)


def labels(message: Message) -> list[str]:
    """The labels of the message's feedback buttons."""
    found = block(message, "answer_feedback")
    assert found is not None, message.blocks
    return [element["text"]["text"] for element in found["elements"]]


async def until(
    check: Callable[[], Awaitable[bool]],
    what: str,
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline, not a cancel scope
) -> None:
    """Wait until an async `check()` holds (for state only the bot's database shows)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def store_of(bot: BotHandle) -> Store:
    """The running bot's store (for what only an admin would read)."""
    store = bot.bot._store
    assert isinstance(store, Store)
    return store


async def heard_count(bot: BotHandle) -> int:
    """How many messages people wrote in between are waiting for the bot's next turn."""
    return await store_of(bot).run(
        lambda conn: len(conn.execute(select(heard_messages.c.id)).all())
    )


async def first_turn(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    text: str = "First answer.",
) -> tuple[dict[str, Any], Script]:
    """A channel thread whose first turn was answered; its top message and that answer."""
    script = answer(text)
    fake_model.enqueue(script)
    top = mention("<@UBOT> start a thread")
    await slack.event(bot, top)
    [first] = await answer_in(bot, fake_slack, "C1", top["ts"])
    assert first.visible == text
    return top, script


# -- the Assistant panel ------------------------------------------------------------------


async def test_the_panel_greets_suggests_prompts_titles_and_shows_status_until_text(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    started = assistant_thread_started(channel="D9", viewing="C5")
    thread_ts = started["assistant_thread"]["thread_ts"]
    assert (await slack.event(bot, started)).status == 200
    await fake_slack.wait_for(
        lambda: bool(fake_slack.calls_to("assistant.threads.setSuggestedPrompts")),
        what="suggested prompts",
    )
    [prompts] = fake_slack.calls_to("assistant.threads.setSuggestedPrompts")
    assert (prompts.args["channel_id"], prompts.args["thread_ts"]) == ("D9", thread_ts)
    assert prompts.args["prompts"] == [
        {"title": title, "message": message} for title, message in assistant.DEFAULT_PROMPTS
    ]
    [greeting] = fake_slack.thread_messages("D9", thread_ts)
    assert greeting.visible == assistant.GREETING

    # The first question: a threaded DM in the panel's thread, with a web search.
    fake_model.enqueue(replay("web_search.sse"))
    question = dm("What happened at the\n  launch   yesterday?", channel="D9", thread_ts=thread_ts)
    await slack.event(bot, question)
    shown = await answer_in(bot, fake_slack, "D9", thread_ts, count=2)
    reply = shown[-1]
    assert reply.visible.startswith("Berlin Art Week 2025")  # the fixture's answer

    [title] = fake_slack.calls_to("assistant.threads.setTitle")
    assert title.args == {
        **title.args,
        "channel_id": "D9",
        "thread_ts": thread_ts,
        "title": "What happened at the launch yesterday?",
    }
    statuses = fake_slack.calls_to("assistant.threads.setStatus")
    # The search's progress shows as it runs (paced: a replay this fast may leave no time
    # for it; tests/e2e/test_progress.py shows it at a real pace).
    said = [c.args["status"] for c in statuses]
    assert said[0] == "is thinking…" and said[-1] == ""
    assert set(said[1:-1]) <= {"Searching the web…", "Searching the web for “Berlin news today”…"}
    assert all((c.args["channel_id"], c.args["thread_ts"]) == ("D9", thread_ts) for c in statuses)
    # No "Thinking…" placeholder in the panel: the answer is posted with its first text,
    # after the status was cleared.
    assert all("Thinking…" not in text for m in shown for text in m.history)
    posts = [c for c in fake_slack.calls if c.method == "chat.postMessage"]
    answer_post = fake_slack.calls.index(posts[-1])
    assert fake_slack.calls.index(statuses[-1]) < answer_post
    assert reply.history[0] and reply.history[0] in reply.visible
    # A DM thread holds nothing the model has not heard: no history is read for it
    # (conversations.replies can be limited to one call a minute).
    assert not fake_slack.calls_to("conversations.replies")
    assert len(fake_model.requests[0].json["input"]) == 1

    # A second question in the same thread: no new title, the status shows again.
    fake_model.enqueue(answer("Nothing else happened."))
    await slack.event(bot, dm("Anything else?", channel="D9", thread_ts=thread_ts))
    shown = await answer_in(bot, fake_slack, "D9", thread_ts, count=3)
    assert shown[-1].visible == "Nothing else happened."
    assert len(fake_slack.calls_to("assistant.threads.setTitle")) == 1
    statuses = fake_slack.calls_to("assistant.threads.setStatus")[len(said) :]
    assert [c.args["status"] for c in statuses] == ["is thinking…", ""]
    assert fake_model.requests[1].json["previous_response_id"] == fake_model.requests[0].response_id


async def test_native_streams_in_the_panel_start_with_the_first_text_after_the_status(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_STREAM_MODE="native")
    started = assistant_thread_started(channel="D8")
    thread_ts = started["assistant_thread"]["thread_ts"]
    await slack.event(bot, started)
    await fake_slack.wait_for(
        lambda: bool(fake_slack.calls_to("assistant.threads.setSuggestedPrompts")),
        what="suggested prompts",
    )
    fake_model.enqueue(replay("web_search.sse"))
    await slack.event(bot, dm("What is on in Berlin?", channel="D8", thread_ts=thread_ts))
    await fake_slack.wait_for(
        lambda: bool(fake_slack.calls_to("chat.stopStream")), what="the end of the stream"
    )
    await bot.idle()

    statuses = [c.args["status"] for c in fake_slack.calls_to("assistant.threads.setStatus")]
    assert statuses[0] == "is thinking…" and statuses[-1] == ""
    assert set(statuses[1:-1]) <= {
        "Searching the web…",
        "Searching the web for “Berlin news today”…",
    }
    [start] = fake_slack.calls_to("chat.startStream")
    [text] = [c["text"] for c in start.args["chunks"] if c["type"] == "markdown_text"]
    assert text.startswith("Berlin Art Week")  # no empty stream first
    status_cleared = fake_slack.calls_to("assistant.threads.setStatus")[-1]
    assert fake_slack.calls.index(status_cleared) < fake_slack.calls.index(start)
    message = fake_slack.thread_messages("D8", thread_ts)[-1]
    assert any(b.get("block_id") == "answer_feedback" for b in message.blocks or [])


async def test_suggested_prompts_come_from_the_setting(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack
) -> None:
    bot = await start_bot(
        BOT_SUGGESTED_PROMPTS="Weekly report=Write my weekly report from ;Standup=Draft my standup"
    )
    await slack.event(bot, assistant_thread_started(channel="D2"))
    await fake_slack.wait_for(
        lambda: bool(fake_slack.calls_to("assistant.threads.setSuggestedPrompts"))
    )
    [prompts] = fake_slack.calls_to("assistant.threads.setSuggestedPrompts")
    assert prompts.args["prompts"] == [
        {"title": "Weekly report", "message": "Write my weekly report from"},
        {"title": "Standup", "message": "Draft my standup"},
    ]


async def test_the_channel_the_user_views_reaches_the_next_request(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    started = assistant_thread_started(channel="D3", viewing="C1")
    thread_ts = started["assistant_thread"]["thread_ts"]
    await slack.event(bot, started)
    await fake_slack.wait_for(
        lambda: bool(fake_slack.calls_to("assistant.threads.setSuggestedPrompts"))
    )

    async def viewing(channel: str | None) -> None:
        # Slack sends the change when the user switches channels, well before the
        # next question; here the question must wait until the bot has taken it in.
        async def taken_in() -> bool:
            found = await store_of(bot).assistant_thread("T1", "D3", thread_ts)
            return found is not None and found[0] == channel

        await until(taken_in, f"the panel to know the user views {channel}")

    async def ask(text: str, count: int) -> list[tuple[str, str]]:
        fake_model.enqueue(answer(f"Answer {count}."))
        await slack.event(bot, dm(text, channel="D3", thread_ts=thread_ts))
        await answer_in(bot, fake_slack, "D3", thread_ts, count=count + 1)  # + the greeting
        return said(fake_model.requests[-1].json)

    note = "(The user is currently viewing the Slack channel <#{}>.)"
    assert (await ask("what is this channel about?", 1))[-1] == (
        "user",
        f"{note.format('C1')} | <@U1>: what is this channel about?",
    )

    await slack.event(
        bot, assistant_thread_context_changed(channel="D3", thread_ts=thread_ts, viewing="C777")
    )
    await viewing("C777")
    assert (await ask("and this one?", 2)) == [
        ("user", f"{note.format('C777')} | <@U1>: and this one?")
    ]

    # Looking at no channel (e.g. a DM list): no note at all.
    await slack.event(
        bot, assistant_thread_context_changed(channel="D3", thread_ts=thread_ts, viewing=None)
    )
    await viewing(None)
    assert (await ask("and now?", 3)) == [("user", "<@U1>: and now?")]


# -- Stop -----------------------------------------------------------------------------------


async def test_the_asker_stops_an_answer_the_text_so_far_stays_marked_stopped(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    words = [f"w{i} " for i in range(40)]
    streaming = answer("".join(words), chunks=words, delay=0.3)  # 12 s unless stopped
    fake_model.enqueue(streaming)
    top = mention("<@UBOT> tell me a long story")
    await slack.event(bot, top)
    await fake_slack.wait_for(
        lambda: "w1" in fake_slack.thread_text("C1", top["ts"]), what="the first words"
    )
    [message] = fake_slack.thread_messages("C1", top["ts"])
    _, stop = button(message, STOP)
    assert json.loads(stop["value"]) == {"turn": f"T1:C1:{top['ts']}", "asker": "U1"}
    # The button was there from the first post: the first text, which came within a
    # moment, so no "Thinking…" placeholder went before it.
    [first_post] = [c for c in fake_slack.calls_to("chat.postMessage") if c.ok]
    assert first_post.args["text"].startswith("w0")
    assert {"block_id": "answer_controls", "elements": [stop], "type": "actions"} in (
        first_post.args["blocks"]
    )

    loop = asyncio.get_running_loop()
    pressed = loop.time()
    await press(bot, slack, message, STOP, user="U1")
    [final] = await answer_in(bot, fake_slack, "C1", top["ts"])
    assert loop.time() - pressed < 3  # it did not wait for the rest of the stream

    text, _, notice = final.visible.rpartition("\n")
    assert notice == "_Stopped by <@U1>._"
    assert text.startswith("w0 w1") and "w39" not in text
    assert "".join(words).startswith(text)
    assert block(final, "answer_controls") is None  # the Stop button is gone
    assert block(final, "answer_feedback") is None  # not stored upstream: nothing to rate
    assert ephemerals_to(fake_slack, "U1") == []
    # The model stream was closed, and the API was asked whether the response was stored.
    await fake_slack.wait_for(lambda: fake_model.requests[0].disconnected, what="disconnect")
    assert fake_model.status_requests == [streaming.response_id]
    assert len(fake_model.requests) == 1


async def test_someone_else_cannot_stop_an_answer_and_is_told_privately(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    text = "One two three four five six seven eight nine ten eleven twelve."
    script = slow(text, 0.15)
    fake_model.enqueue(script)
    top = mention("<@UBOT> count to twelve", user="U1")
    await slack.event(bot, top)
    await fake_slack.wait_for(lambda: "two" in fake_slack.thread_text("C1", top["ts"]))
    [message] = fake_slack.thread_messages("C1", top["ts"])
    _, stop = button(message, STOP)

    await press(bot, slack, message, STOP, user="U2")
    await fake_slack.wait_for(lambda: bool(ephemerals_to(fake_slack, "U2")), what="the refusal")
    [refusal] = fake_slack.ephemerals
    assert refusal["text"] == "Only <@U1> can stop this answer."
    assert (refusal["channel"], refusal["thread_ts"]) == ("C1", top["ts"])

    [final] = await answer_in(bot, fake_slack, "C1", top["ts"])
    assert final.visible == text  # the answer went on to its end
    assert block(final, "answer_controls") is None
    assert button(final, UP)[1]["value"] == script.response_id
    assert fake_model.status_requests == []
    assert fake_model.requests[0].disconnected is False

    # A late press by the asker, on a copy of the message still showing Stop.
    await press(bot, slack, final, STOP, user="U1", value=stop["value"])
    await fake_slack.wait_for(lambda: bool(ephemerals_to(fake_slack, "U1")))
    assert ephemerals_to(fake_slack, "U1") == ["That answer has already finished."]
    assert fake_slack.message("C1", final.ts).visible == text


@pytest.mark.parametrize(
    ("reported", "chains_on_stopped"),
    [("in_progress", False), ("failed", False), ("incomplete", True), ("completed", True)],
)
async def test_after_a_stop_the_chain_moves_only_to_a_response_the_api_stored(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    reported: str,
    chains_on_stopped: bool,
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    words = [f"w{i} " for i in range(30)]
    stopped = answer("".join(words), chunks=words, delay=0.3)
    fake_model.set_status(stopped.response_id or "", reported)
    fake_model.enqueue(stopped)
    await slack.event(bot, mention("<@UBOT> go on at length", thread_ts=top["ts"]))
    await fake_slack.wait_for(lambda: "w1" in fake_slack.thread_text("C1", top["ts"]))
    message = fake_slack.thread_messages("C1", top["ts"])[-1]
    await press(bot, slack, message, STOP, user="U1")
    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert shown[-1].visible.endswith("_Stopped by <@U1>._")
    assert fake_model.status_requests == [stopped.response_id]
    # Only a stored answer can be rated.
    assert (block(shown[-1], "answer_feedback") is not None) is chains_on_stopped

    fake_model.enqueue(answer("And the next one."))
    await slack.event(bot, mention("<@UBOT> and then?", thread_ts=top["ts"]))
    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=3)
    assert shown[-1].visible == "And the next one."
    expected = stopped.response_id if chains_on_stopped else first.response_id
    assert fake_model.requests[-1].json["previous_response_id"] == expected


# -- feedback -----------------------------------------------------------------------------


async def test_feedback_is_stored_acknowledged_shown_and_can_be_changed(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    capsys: pytest.CaptureFixture[str],
) -> None:
    top, script = await first_turn(bot, slack, fake_slack, fake_model, "Paris.")
    [message] = fake_slack.thread_messages("C1", top["ts"])
    assert block(message, "answer_controls") is None
    assert button(message, UP)[1]["value"] == script.response_id
    assert button(message, DOWN)[1]["value"] == script.response_id
    assert labels(message) == ["👍", "👎"]

    async def vote(action_id: str, user: str, expected: list[str]) -> None:
        before = len(fake_slack.ephemerals)
        await press(bot, slack, fake_slack.message("C1", message.ts), action_id, user=user)
        await fake_slack.wait_for(lambda: len(fake_slack.ephemerals) > before, what="thanks")
        assert fake_slack.ephemerals[-1]["user"] == user
        assert fake_slack.ephemerals[-1]["text"] == THANKS
        shown = fake_slack.message("C1", message.ts)
        assert labels(shown) == expected
        assert shown.visible == "Paris."  # the answer itself is untouched

    await vote(UP, "U2", ["👍 1", "👎 0"])
    [row] = await store_of(bot).run(lambda conn: conn.execute(select(feedback)).mappings().all())
    assert (row["response_id"], row["user_id"], row["vote"]) == (script.response_id, "U2", "up")
    assert (row["channel_id"], row["message_ts"], row["team_id"]) == ("C1", message.ts, "T1")
    assert row["at"] is not None

    await vote(DOWN, "U2", ["👍 0", "👎 1"])  # the same person changes their mind
    await vote(UP, "U3", ["👍 1", "👎 1"])
    await vote(UP, "U3", ["👍 1", "👎 1"])  # pressing the same again changes nothing

    # What an admin reads: `python -m bot usage`.
    await usage(bot.settings)
    assert "feedback: 1 👍, 1 👎" in capsys.readouterr().out


async def test_a_press_on_a_message_sent_without_its_blocks_keeps_the_answer(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    text = "A long answer. " * 30
    top, script = await first_turn(bot, slack, fake_slack, fake_model, text.strip())
    [message] = fake_slack.thread_messages("C1", top["ts"])
    payload = block_action(
        UP,
        script.response_id or "",
        user="U2",
        message_ts=message.ts,
        thread_ts=top["ts"],
        block_id="answer_feedback",
        text=message.text,  # the 150-character preview, and no blocks
    )
    await slack.action(bot, payload)
    await fake_slack.wait_for(lambda: ephemerals_to(fake_slack, "U2") == [THANKS])
    assert await store_of(bot).feedback_totals() == {"up": 1, "down": 0}
    shown = fake_slack.message("C1", message.ts)
    assert shown.visible == text.strip() and labels(shown) == ["👍", "👎"]


async def test_native_mode_streams_with_a_stop_button_and_ends_with_feedback_buttons(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_STREAM_MODE="native")
    script = slow("Streamed natively, word by word.", 0.05)
    fake_model.enqueue(script)
    top = mention("<@UBOT> stream it")
    await slack.event(bot, top)
    [message] = await answer_in(bot, fake_slack, "C1", top["ts"])

    assert message.visible == "Streamed natively, word by word."
    [start] = fake_slack.calls_to("chat.startStream")
    [controls] = [c for c in start.args["chunks"] if c["type"] == "blocks"]
    [stop] = controls["blocks"][0]["elements"]
    assert stop["action_id"] == STOP  # pressable while the answer streams
    assert json.loads(stop["value"]) == {"turn": f"T1:C1:{top['ts']}", "asker": "U1"}
    assert block(message, "answer_controls") is None  # gone once it is done
    actions = block(message, "answer_feedback")
    assert actions is not None and labels(message) == ["👍", "👎"]
    assert {e["value"] for e in actions["elements"]} == {script.response_id}


async def test_the_asker_stops_a_native_stream_and_the_background_response_is_cancelled(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_STREAM_MODE="native", BOT_UPDATE_INTERVAL=0.1)
    words = [f"w{i} " for i in range(40)]
    streaming = answer("".join(words), chunks=words, delay=0.3)  # 12 s unless stopped
    fake_model.enqueue(streaming)
    top = mention("<@UBOT> tell me a long story")
    await slack.event(bot, top)
    await fake_slack.wait_for(
        lambda: "w1" in fake_slack.thread_text("C1", top["ts"]), what="the first words"
    )
    [message] = fake_slack.thread_messages("C1", top["ts"])
    assert message.streaming

    await press(bot, slack, message, STOP, user="U2")  # not the asker: told so, no stop
    await fake_slack.wait_for(lambda: bool(ephemerals_to(fake_slack, "U2")))
    assert ephemerals_to(fake_slack, "U2") == ["Only <@U1> can stop this answer."]
    await press(bot, slack, message, STOP, user="U1")
    [final] = await answer_in(bot, fake_slack, "C1", top["ts"])

    text, _, notice = final.visible.rpartition("\n")
    assert notice == "_Stopped by <@U1>._"
    assert text.startswith("w0 w1") and "w39" not in text
    assert block(final, "answer_controls") is None  # the Stop button is gone
    # A background response goes on after its stream closes: it was cancelled upstream.
    assert fake_model.requests[0].json["background"] is True
    assert fake_model.cancelled == [streaming.response_id]
    assert fake_model.runs[streaming.response_id].status == "cancelled"


# -- joining a thread ------------------------------------------------------------------------


async def test_a_mention_in_an_older_thread_brings_its_messages_then_the_chain_takes_over(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    root, reply, by_bot, other_bot = new_ts(), new_ts(), new_ts(), new_ts()
    ask = mention("<@UBOT> what do you think?", user="U3", thread_ts=root)
    fake_slack.set_replies(
        "C1",
        root,
        [
            {"type": "message", "user": "U2", "text": "Ship on Friday?", "ts": root},
            {"type": "message", "user": "U3", "text": "Only if QA agrees.", "ts": reply,
             "thread_ts": root},
            {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": "An earlier answer.",
             "ts": by_bot, "thread_ts": root},
            {"type": "message", "subtype": "bot_message", "bot_id": "BCI", "text": "Build green.",
             "ts": other_bot, "thread_ts": root},
            {"type": "message", "user": "U3", "text": ask["text"], "ts": ask["ts"],
             "thread_ts": root},
        ],
    )  # fmt: skip
    first = answer("Friday works if QA agrees.")
    fake_model.enqueue(first)
    await slack.event(bot, ask)
    [shown] = await answer_in(bot, fake_slack, "C1", root)
    assert shown.visible == "Friday works if QA agrees."

    [replies] = fake_slack.calls_to("conversations.replies")
    assert (replies.args["channel"], replies.args["ts"]) == ("C1", root)
    request = fake_model.requests[0].json
    assert "previous_response_id" not in request
    assert said(request) == [
        ("user", "<@U2>: Ship on Friday?"),
        ("user", "<@U3>: Only if QA agrees."),
        ("assistant", "An earlier answer."),
        ("user", "<@BCI>: Build green."),  # another bot is a speaker, not the assistant
        ("user", "<@U3>: what do you think?"),
    ]

    fake_model.enqueue(answer("Yes."))
    await slack.event(bot, mention("<@UBOT> so, Friday?", user="U2", thread_ts=root))
    await answer_in(bot, fake_slack, "C1", root, count=2)
    request = fake_model.requests[1].json
    assert request["previous_response_id"] == first.response_id
    assert said(request) == [("user", "<@U2>: so, Friday?")]
    assert len(fake_slack.calls_to("conversations.replies")) == 1  # read once, on joining


@pytest.mark.parametrize(("count", "size", "sent"), [(60, 10, 40), (40, 1_000, 24)])
async def test_joining_a_long_thread_brings_only_its_recent_messages(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    count: int,
    size: int,
    sent: int,
) -> None:
    root = new_ts()
    said_before = [
        {"type": "message", "user": "U2", "text": f"m{i:02d} ".ljust(size, "x"), "ts": new_ts()}
        for i in range(count)
    ]
    ask = mention("<@UBOT> summarise please", thread_ts=root)
    fake_slack.set_replies("C1", root, said_before)
    await slack.event(bot, ask)
    await answer_in(bot, fake_slack, "C1", root)
    items = said(fake_model.requests[0].json)
    assert len(items) == sent + 1
    assert [text[7:10] for _, text in items[:-1]] == [
        f"m{i:02d}" for i in range(count - sent, count)
    ]
    assert items[-1] == ("user", "<@U1>: summarise please")


@pytest.mark.parametrize(
    ("back_from_latest", "calls"),
    [(True, 3), (False, 4)],  # 15 + 15 + 15 back from the end; or 15 + 15 + 15 + 5 forward
    ids=["pages-back-from-latest", "pages-from-the-oldest"],
)
async def test_joining_a_thread_slack_pages_reads_to_its_recent_end(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    back_from_latest: bool,
    calls: int,
) -> None:
    fake_slack.replies_page_size = 15  # as Slack pages replies for some apps
    fake_slack.replies_back_from_latest = back_from_latest
    root = new_ts()
    said_before = [  # the thread's parent first, as Slack gives it
        {"type": "message", "user": "U2", "text": f"message {i:02d}",
         "ts": root if i == 0 else new_ts()}
        for i in range(50)
    ]  # fmt: skip
    fake_slack.set_replies("C1", root, said_before)
    await slack.event(bot, mention("<@UBOT> what was decided?", thread_ts=root))
    await answer_in(bot, fake_slack, "C1", root)
    assert len(fake_slack.calls_to("conversations.replies")) == calls
    items = said(fake_model.requests[0].json)
    assert items[0] == ("user", "<@U2>: message 10")  # the recent 40 of 50
    assert items[-2] == ("user", "<@U2>: message 49")


# -- what was said in between ---------------------------------------------------------------


async def test_messages_between_two_mentions_reach_the_next_request_once(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    elsewhere = new_ts()  # a thread the bot takes no part in
    for event in (
        channel_message("Unrelated chatter.", user="U2", thread_ts=elsewhere),
        channel_message("Top-level chatter.", user="U2"),
        channel_message("Did anyone check the logs?", user="U2", thread_ts=top["ts"]),
        channel_message("Logs look clean.", user="U3", thread_ts=top["ts"]),
    ):
        assert (await slack.event(bot, event)).status == 200

    async def two_heard() -> bool:
        return await heard_count(bot) == 2

    await until(two_heard, "the two messages in the bot's thread to be recorded")

    ask = mention("<@UBOT> so what now?", user="U1", thread_ts=top["ts"])
    # Slack also sends the mention as a `message` event: it must not count twice.
    twin = channel_message(ask["text"], user="U1", ts=ask["ts"], thread_ts=top["ts"])
    second = answer("Then we ship.")
    fake_model.enqueue(second)
    await slack.event(bot, twin)
    await slack.event(bot, ask)
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    request = fake_model.requests[1].json
    assert request["previous_response_id"] == first.response_id
    assert said(request) == [
        ("user", "<@U2>: Did anyone check the logs?"),
        ("user", "<@U3>: Logs look clean."),
        ("user", "<@U1>: so what now?"),
    ]

    fake_model.enqueue(answer("Done."))
    await slack.event(bot, mention("<@UBOT> anything else?", user="U2", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=3)
    request = fake_model.requests[2].json
    assert request["previous_response_id"] == second.response_id
    assert said(request) == [("user", "<@U2>: anything else?")]  # not sent again
    assert await heard_count(bot) == 0  # nothing else was kept: not the other thread's
    assert not await store_of(bot).takes_part("T1", "C1", elsewhere)
    assert not fake_slack.calls_to("conversations.replies")


async def test_what_was_said_waits_for_a_turn_that_is_stored(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    await slack.event(bot, channel_message("The rollback is done.", user="U2", thread_ts=top["ts"]))

    async def heard_one() -> bool:
        return await heard_count(bot) == 1

    await until(heard_one, "the message in the bot's thread to be recorded")
    fake_model.enqueue(http_error(400, "invalid_request_error", "Bad request."), answer("Noted."))
    await slack.event(bot, mention("<@UBOT> status?", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)  # the failure, told
    await slack.event(bot, mention("<@UBOT> status now?", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=3)

    failed, retried = fake_model.requests[1].json, fake_model.requests[2].json
    assert said(failed)[0] == ("user", "<@U2>: The rollback is done.")
    # The failed turn stored nothing upstream: the model still has not heard it.
    assert retried["previous_response_id"] == first.response_id
    assert said(retried) == [
        ("user", "<@U2>: The rollback is done."),
        ("user", "<@U1>: status now?"),
    ]
    assert await heard_count(bot) == 0


async def test_after_a_failed_first_answer_what_was_said_comes_once_with_the_history(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_model.enqueue(http_error(400, "invalid_value", "Bad request."))
    top = mention("<@UBOT> start")
    await slack.event(bot, top)
    await answer_in(bot, fake_slack, "C1", top["ts"])  # the failure notice; no chain
    meanwhile = channel_message("Meanwhile: the logs are clean.", user="U2", thread_ts=top["ts"])
    await slack.event(bot, meanwhile)

    async def one_heard() -> bool:
        return await heard_count(bot) == 1

    await until(one_heard, "the message in the bot's thread to be recorded")
    ask = mention("<@UBOT> again", thread_ts=top["ts"])
    fake_slack.set_replies(
        "C1",
        top["ts"],
        [
            {"type": "message", "user": "U1", "text": top["text"], "ts": top["ts"]},
            {"type": "message", "user": "U2", "text": meanwhile["text"], "ts": meanwhile["ts"]},
            {"type": "message", "user": "U1", "text": ask["text"], "ts": ask["ts"]},
        ],
    )
    second = answer("Now it works.")
    fake_model.enqueue(second, answer("Third."))
    await slack.event(bot, ask)
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert said(fake_model.requests[1].json) == [
        ("user", "<@U1>: start"),
        ("user", "<@U2>: Meanwhile: the logs are clean."),
        ("user", "<@U1>: again"),
    ]

    await slack.event(bot, mention("<@UBOT> third", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=3)
    request = fake_model.requests[2].json
    assert request["previous_response_id"] == second.response_id
    assert said(request) == [("user", "<@U1>: third")]  # the history already carried it
