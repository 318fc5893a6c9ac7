"""Never lose an answer: faults injected on the Slack side and the model side (issue 3).

Each test asserts what a person finally sees in the thread and what the next
turn of that thread chains onto (the next model request's `previous_response_id`).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.conversation import notices
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in, answers
from tests.e2e.harness import BotHandle, SlackSender, new_event_id
from tests.e2e.payloads import channel_message, dm, mention, new_ts
from tests.fakes.responses_api import (
    FakeModel,
    Script,
    answer,
    cut_after,
    error_after,
    failed_after,
    http_error,
    split_words,
    stall_after,
)
from tests.fakes.slack_api import FakeSlack, Message

BUSY = "The model is busy right now. Please try again in a minute."
BAD_KEY = "The model's service refused the bot's API key. Please tell the bot's admin."
CUT_SHORT = "The answer was cut short: it reached the length limit."
STALLED = "The answer stopped arriving, so it may be incomplete. Please try again."
DROPPED = "The connection to the model dropped, so the answer may be incomplete."
UNEXPECTED = notices.UNEXPECTED


def slow(text: str, delay: float = 0.1) -> Script:
    """An answer streamed word by word, `delay` seconds between words."""
    return answer(text, chunks=split_words(text), delay=delay)


def previous_id(fake_model: FakeModel, index: int = -1) -> str | None:
    """The `previous_response_id` of a model request (the last one by default)."""
    value = fake_model.requests[index].json.get("previous_response_id")
    return str(value) if value is not None else None


def said(request_json: dict[str, Any]) -> list[tuple[str, str]]:
    """A request's input as (role, text) pairs."""
    return [(item["role"], item["content"][0]["text"]) for item in request_json["input"]]


def stripped(text: str) -> str:
    """Text without whitespace: what survives a split at any boundary."""
    return "".join(text.split())


async def first_turn(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    *,
    channel: str = "C1",
    text: str = "First answer.",
) -> tuple[dict[str, Any], Script]:
    """A thread whose first turn was answered; returns its top message and that answer."""
    script = answer(text)
    fake_model.enqueue(script)
    top = mention("<@UBOT> start a thread", channel=channel)
    await slack.event(bot, top)
    [first] = await answer_in(bot, fake_slack, channel, top["ts"])
    assert first.visible == text
    return top, script


async def next_turn_chains_on(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    top: dict[str, Any],
    count: int,
    *,
    channel: str = "C1",
) -> str | None:
    """Ask once more in the thread; returns the `previous_response_id` that turn sent."""
    fake_model.enqueue(answer("And the next one."))
    await slack.event(bot, mention("<@UBOT> and then?", channel=channel, thread_ts=top["ts"]))
    shown = await answer_in(bot, fake_slack, channel, top["ts"], count=count)
    assert shown[-1].visible == "And the next one."
    return previous_id(fake_model)


# -- Slack side: exactly once -----------------------------------------------------------


async def test_a_redelivery_while_the_first_still_streams_gets_no_second_answer(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_model.enqueue(slow("A slow and careful answer to your question.", delay=0.15))
    event = mention("<@UBOT> take your time")
    event_id = new_event_id()
    assert (await slack.event(bot, event, event_id=event_id)).status == 200
    await fake_model.wait_for_requests(1)
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.postMessage")))
    retry = await slack.event(bot, event, event_id=event_id, retry_num=1)
    again = await slack.event(bot, event, event_id=event_id, retry_num=2, retry_reason="timeout")
    assert retry.status == 200 and again.status == 200
    assert retry.elapsed < 3 and again.elapsed < 3

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    await bot.idle()
    assert message.visible == "A slow and careful answer to your question."
    assert len(fake_model.requests) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert fake_slack.thread_messages("C1", event["ts"]) == [message]


async def test_a_redelivery_after_a_restart_on_the_same_database_gets_no_second_answer(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    first = answer("Answered before the restart.")
    fake_model.enqueue(first)
    bot = await start_bot()
    event = mention("<@UBOT> answer me once")
    event_id = new_event_id()
    await slack.event(bot, event, event_id=event_id)
    await answer_in(bot, fake_slack, "C1", event["ts"])
    await bot.stop()

    again = await start_bot()
    retry = await slack.event(again, event, event_id=event_id, retry_num=1)
    assert retry.status == 200
    # The restarted bot still answers new messages, chained on the stored response.
    fake_model.enqueue(answer("After the restart."))
    await slack.event(again, mention("<@UBOT> still there?", thread_ts=event["ts"]))
    shown = await answer_in(again, fake_slack, "C1", event["ts"], count=2)
    assert [m.visible for m in shown] == ["Answered before the restart.", "After the restart."]
    assert len(fake_model.requests) == 2
    assert previous_id(fake_model) == first.response_id


@pytest.mark.parametrize("channel", ["C1", "D1"])
async def test_one_message_delivered_as_app_mention_and_as_message_gets_one_answer(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    channel: str,
) -> None:
    fake_model.enqueue(slow("Just one answer.", delay=0.05))
    as_mention = mention("<@UBOT> once please", channel=channel)
    fields = {k: as_mention[k] for k in ("user", "ts", "team")}
    if channel.startswith("D"):
        as_message = dm("<@UBOT> once please", channel=channel, **fields)
    else:
        as_message = channel_message("<@UBOT> once please", channel=channel, **fields)
    assert (await slack.event(bot, as_mention)).status == 200
    assert (await slack.event(bot, as_message)).status == 200

    [message] = await answer_in(bot, fake_slack, channel, as_mention["ts"])
    assert message.visible == "Just one answer."
    assert len(fake_model.requests) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


# -- Slack side: order per thread, concurrency across threads ----------------------------


async def test_two_mentions_in_one_thread_are_answered_in_order_and_chained(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    one, two = slow("The first answer.", 0.1), answer("The second answer.")
    fake_model.enqueue(one, two)
    top = mention("<@UBOT> first question")
    await slack.event(bot, top)
    await slack.event(bot, mention("<@UBOT> second question", user="U2", thread_ts=top["ts"]))

    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert [m.visible for m in shown] == ["The first answer.", "The second answer."]
    first, second = fake_model.requests
    assert "previous_response_id" not in first.json
    assert second.json["previous_response_id"] == one.response_id
    assert said(second.json) == [("user", "<@U2>: second question")]
    # The second request waited for the first answer to end (3 words, 0.1 s apart).
    assert second.at - first.at >= 0.18


async def test_different_threads_are_answered_concurrently(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    text = "one two three four five six seven eight"
    fake_model.enqueue(slow(text, 0.1), slow(text, 0.1))  # each streams for 0.7 s
    a, b = mention("<@UBOT> thread a"), mention("<@UBOT> thread b", channel="C2")
    await slack.event(bot, a)
    await slack.event(bot, b)

    [in_a] = await answer_in(bot, fake_slack, "C1", a["ts"])
    [in_b] = await answer_in(bot, fake_slack, "C2", b["ts"])
    assert in_a.visible == in_b.visible == text
    first, second = fake_model.requests
    assert second.at - first.at < 0.5  # the second did not wait for the first to end
    assert "previous_response_id" not in second.json


# -- Slack side: 429 with Retry-After -------------------------------------------------------


@pytest.mark.parametrize("times", [1, 3])
async def test_chat_update_rate_limited_still_lands_the_final_text(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    times: int,
) -> None:
    text = "Rate limits are no reason to lose an answer, not even a short one."
    fake_model.enqueue(slow(text, 0.03))
    fake_slack.rate_limit("chat.update", retry_after=1, times=times)
    event = mention("<@UBOT> go")
    await slack.event(bot, event)

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible == text
    limited = [c for c in fake_slack.calls_to("chat.update") if c.outcome == "ratelimited"]
    assert len(limited) == times
    later = [c for c in fake_slack.calls_to("chat.update") if c.at > limited[-1].at and c.ok]
    assert later and later[0].at - limited[-1].at >= 0.9  # Retry-After was waited out


async def test_chat_update_rate_limited_on_the_final_write_still_lands_it(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_UPDATE_INTERVAL=5.0)  # one interim edit, then the final write
    text = "The final write waits out the limit."
    fake_model.enqueue(slow(text, 0.1))
    event = mention("<@UBOT> go")
    await slack.event(bot, event)
    # The message appears with the first text (no placeholder before it); what the
    # fault below hits is the final write.
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.postMessage")))
    fake_slack.rate_limit("chat.update", retry_after=1, times=2)

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible == text
    assert [c.outcome for c in fake_slack.calls_to("chat.update")] == [
        "ratelimited",
        "ratelimited",
        "ok",
    ]


async def test_chat_post_message_rate_limited_still_lands_the_answer(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    second = answer("Posted after waiting.")
    fake_model.enqueue(second)
    fake_slack.rate_limit("chat.postMessage", retry_after=1)
    await slack.event(bot, mention("<@UBOT> again", thread_ts=top["ts"]))

    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert [m.visible for m in shown] == ["First answer.", "Posted after waiting."]
    assert [c.outcome for c in fake_slack.calls_to("chat.postMessage")] == [
        "ok",
        "ratelimited",
        "ok",
    ]
    assert previous_id(fake_model) == first.response_id
    assert await next_turn_chains_on(bot, slack, fake_slack, fake_model, top, 3) == (
        second.response_id
    )


async def test_native_append_stream_rate_limited_still_lands_the_full_text(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_STREAM_MODE="native", BOT_UPDATE_INTERVAL=0.1)
    words = [f"w{i} " for i in range(12)]
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.08))
    event = mention("<@UBOT> stream", channel="C2")
    await slack.event(bot, event)
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.appendStream")))
    fake_slack.rate_limit("chat.appendStream", retry_after=1)

    [message] = await answer_in(bot, fake_slack, "C2", event["ts"])
    assert message.visible.strip() == "".join(words).strip()
    outcomes = [c.outcome for c in fake_slack.calls_to("chat.appendStream")]
    assert "ratelimited" in outcomes
    assert len(fake_slack.calls_to("chat.stopStream")) == 1


# -- Slack side: long answers -------------------------------------------------------------


def long_answer() -> str:
    """About 30,000 characters: paragraphs, a long fenced code block, more paragraphs."""
    paragraphs = [
        f"Paragraph {i}: " + " ".join(f"word{i}-{j}" for j in range(60)) + "." for i in range(30)
    ]
    code = "\n".join(f"    value_{i} = compute({i}, 'text {i}')  # line {i}" for i in range(260))
    return "\n\n".join(paragraphs[:12] + [f"```python\n{code}\n```"] + paragraphs[12:])


def markdown_of(message: Message) -> str:
    """The Markdown a message carries in its markdown blocks, else its `text`."""
    parts = [b["text"] for b in message.blocks or [] if b.get("type") == "markdown"]
    return "\n".join(parts) if parts else message.text


def fences(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip().startswith("```"))


def assert_whole_and_balanced(messages: list[Message], original: str) -> None:
    bodies = [markdown_of(m) for m in messages]
    for message, body in zip(messages, bodies, strict=True):
        assert len(message.text) <= 4000, len(message.text)
        assert sum(len(b["text"]) for b in message.blocks or [] if b.get("type") == "markdown") <= (
            12_000
        )
        assert fences(body) % 2 == 0, body[:200]
    # Nothing lost, nothing added but the fence lines that close and reopen the code.
    joined = "\n".join(line for b in bodies for line in b.splitlines() if not line.startswith("`"))
    unfenced = "\n".join(line for line in original.splitlines() if not line.startswith("`"))
    assert stripped(joined) == stripped(unfenced)
    # Split at paragraph or line boundaries: every paragraph and code line lands whole.
    for piece in [p for p in original.split("\n\n") if not p.startswith("```")]:
        assert any(piece in body for body in bodies), piece[:60]
    for line in original.splitlines():
        assert any(line in body.splitlines() for body in bodies), line


async def test_a_long_answer_continues_in_further_messages_within_limits(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    text = long_answer()
    assert len(text) > 28_000
    second = answer(text, chunks=[text[i : i + 1500] for i in range(0, len(text), 1500)])
    fake_model.enqueue(second)
    await slack.event(bot, mention("<@UBOT> tell me everything", thread_ts=top["ts"]))

    await answer_in(bot, fake_slack, "C1", top["ts"], count=4)
    shown = answers(fake_slack, "C1", top["ts"])[1:]
    assert len(shown) >= 3
    assert_whole_and_balanced(shown, text)
    # The next turn chains on the long answer.
    assert await next_turn_chains_on(bot, slack, fake_slack, fake_model, top, len(shown) + 2) == (
        second.response_id
    )


async def test_msg_too_long_falls_back_to_plain_messages_and_the_text_still_lands(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_UPDATE_INTERVAL=5.0)  # one interim edit, then the final write
    fake_slack.max_text_length = 4000  # as Slack: longer `text` is msg_too_long
    paragraphs = [f"Part {i}: " + "lorem ipsum dolor " * 25 for i in range(16)]
    text = "\n\n".join(paragraphs)  # about 7,000 characters
    chunks = [text[:100], text[100:3000], text[3000:]]
    fake_model.enqueue(answer(text, chunks=chunks, delay=0.2))
    event = mention("<@UBOT> a longer one")
    await slack.event(bot, event)
    # The message appears with the first text (no placeholder before it); what the
    # fault below hits is the final write.
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.postMessage")))
    fake_slack.fail("chat.update", "msg_too_long")

    shown = await answer_in(bot, fake_slack, "C1", event["ts"], count=2)
    assert "msg_too_long" in [c.outcome for c in fake_slack.calls_to("chat.update")]
    assert all(len(m.text) <= 4000 and not m.blocks for m in shown)
    assert stripped("".join(m.visible for m in shown)) == stripped(text)
    for paragraph in paragraphs:
        assert any(paragraph.strip() in m.visible for m in shown)


# -- Slack side: rendering ------------------------------------------------------------------


async def test_markdown_goes_in_a_markdown_block_and_the_fallback_text_has_no_stars(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_model.enqueue(answer("This is **bold**, _this_ ~~struck~~ and `code`."))
    event = mention("<@UBOT> format")
    await slack.event(bot, event)

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert {"type": "markdown", "text": "This is **bold**, _this_ ~~struck~~ and `code`."} in (
        message.blocks or []
    )
    assert "**" not in message.text and "~~" not in message.text
    assert "*bold*" in message.text


async def test_when_slack_refuses_blocks_the_text_is_mrkdwn_without_double_stars(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_UPDATE_INTERVAL=5.0)  # one interim edit, then the final write
    text = "Deploy **done**. See [the log](https://example.com/log) & relax."
    fake_model.enqueue(answer(text, chunks=[text[:10], text[10:]], delay=0.3))
    event = mention("<@UBOT> status")
    await slack.event(bot, event)
    # The message appears with the first text (no placeholder before it); what the
    # fault below hits is the final write.
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.postMessage")))
    fake_slack.fail("chat.update", "invalid_blocks")

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert "invalid_blocks" in [c.outcome for c in fake_slack.calls_to("chat.update")]
    assert "**" not in message.visible and "**" not in message.text
    assert "*done*" in message.visible
    assert "<https://example.com/log|the log>" in message.visible
    assert "&amp; relax" in message.visible
    assert not message.blocks  # no stale interim blocks left showing an older text


# -- Slack side: native streaming -------------------------------------------------------------


async def test_native_stream_slack_stops_accepting_is_finished_with_chat_update(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_STREAM_MODE="native", BOT_UPDATE_INTERVAL=0.1)
    top, first = await first_turn(bot, slack, fake_slack, fake_model, channel="C2")
    words = [f"chunk{i} " for i in range(12)]
    text = "".join(words)
    second = answer(text, chunks=words, delay=0.08)
    fake_model.enqueue(second)
    await slack.event(bot, mention("<@UBOT> a long stream", channel="C2", thread_ts=top["ts"]))
    await fake_slack.wait_for(lambda: len(fake_slack.calls_to("chat.appendStream")) >= 2)
    fake_slack.fail("chat.appendStream", "message_not_in_streaming_state")

    def finished() -> bool:
        shown = fake_slack.thread_messages("C2", top["ts"])
        return len(shown) == 2 and shown[1].visible.strip() == text.strip()

    await fake_slack.wait_for(finished, what="the full text over the stream")
    await bot.idle()
    shown = fake_slack.thread_messages("C2", top["ts"])
    assert shown[1].visible.strip() == text.strip()
    updates = [c for c in fake_slack.calls_to("chat.update") if c.args.get("ts") == shown[1].ts]
    assert updates and updates[-1].ok
    assert previous_id(fake_model) == first.response_id
    fake_model.enqueue(answer("Next."))
    await slack.event(bot, mention("<@UBOT> next", channel="C2", thread_ts=top["ts"]))
    await fake_slack.wait_for(lambda: "Next." in fake_slack.thread_text("C2", top["ts"]))
    await bot.idle()
    assert previous_id(fake_model) == second.response_id


# -- Model side: retries before any text -------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        http_error(429, "rate_limit_exceeded", "Rate limit reached.", retry_after=0),
        http_error(500, "server_error", "The server had an error.", retry_after=0),
        http_error(503, None, "Service unavailable.", retry_after=0),
    ],
    ids=["429", "500", "503"],
)
async def test_a_passing_model_error_is_retried_and_the_answer_lands(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    error: Script,
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    second = answer("Worked on the second try.")
    fake_model.enqueue(error, second)
    await slack.event(bot, mention("<@UBOT> again", thread_ts=top["ts"]))

    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert shown[1].visible == "Worked on the second try."
    assert len(fake_model.requests) == 3
    assert previous_id(fake_model, 1) == previous_id(fake_model, 2) == first.response_id
    assert await next_turn_chains_on(bot, slack, fake_slack, fake_model, top, 3) == (
        second.response_id
    )


async def test_a_persistent_429_tells_the_user_the_model_is_busy(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    limited = http_error(429, "rate_limit_exceeded", "Rate limit reached.", retry_after=0)
    fake_model.enqueue(*[limited] * 4)
    await slack.event(bot, mention("<@UBOT> again", thread_ts=top["ts"]))

    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert BUSY in shown[1].visible
    assert "Thinking" not in fake_slack.thread_text("C1", top["ts"])
    assert len(fake_model.requests) == 5  # the first turn, then 4 attempts
    assert fake_model.pending == 0
    assert await next_turn_chains_on(bot, slack, fake_slack, fake_model, top, 3) == (
        first.response_id
    )


async def test_a_refused_api_key_tells_the_user_to_tell_the_admin(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    fake_model.enqueue(http_error(401, "invalid_api_key", "Incorrect API key provided: sk-te***"))
    await slack.event(bot, mention("<@UBOT> again", thread_ts=top["ts"]))

    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert BAD_KEY in shown[1].visible
    assert "sk-test-key" not in fake_slack.thread_text("C1", top["ts"])
    assert len(fake_model.requests) == 2  # a 401 is not retried
    assert await next_turn_chains_on(bot, slack, fake_slack, fake_model, top, 3) == (
        first.response_id
    )


async def test_a_wrong_model_name_shows_the_apis_message_briefly(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    message = "The model `gpt-9` does not exist or you do not have access to it. " + "x" * 600
    fake_model.enqueue(http_error(400, "model_not_found", message))
    await slack.event(bot, mention("<@UBOT> again", thread_ts=top["ts"]))

    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert "The model `gpt-9` does not exist" in shown[1].visible
    assert "x" * 400 not in shown[1].visible  # briefly
    assert len(fake_model.requests) == 2
    assert await next_turn_chains_on(bot, slack, fake_slack, fake_model, top, 3) == (
        first.response_id
    )


# -- Model side: a chain that cannot go on ------------------------------------------------------


def thread_so_far(top: dict[str, Any]) -> list[dict[str, Any]]:
    """conversations.replies of the thread so far: the top, the bot's answer, a reply."""
    return [
        {"type": "message", "user": "U1", "text": top["text"], "ts": top["ts"]},
        {
            "type": "message",
            "user": "UBOT",
            "bot_id": "BBOT",
            "text": "First answer.",
            "ts": new_ts(),
            "thread_ts": top["ts"],
        },
        {"type": "message", "user": "U2", "text": "and <@UBOT> U2 adds this", "ts": new_ts()},
    ]


@pytest.mark.parametrize(
    ("lost", "notice"),
    [
        (
            http_error(400, "previous_response_not_found", "Previous response with id not found."),
            None,
        ),
        (
            http_error(400, "context_length_exceeded", "Your input exceeds the context window."),
            notices.STARTED_OVER,
        ),
        (
            failed_after("", "context_length_exceeded", "Your input exceeds the context window."),
            notices.STARTED_OVER,
        ),
    ],
    ids=["previous_response_not_found", "context_length_exceeded", "failed_context_length"],
)
async def test_a_lost_chain_is_rebuilt_from_the_thread_and_the_next_turn_chains_on_it(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    lost: Script,
    notice: str | None,
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    rebuilt = answer("Answered on a new chain.")
    fake_model.enqueue(lost, rebuilt)
    replies = thread_so_far(top)
    later = mention("<@UBOT> what did we say?", thread_ts=top["ts"])
    fake_slack.set_replies("C1", top["ts"], [*replies, {**later, "type": "message"}])
    await slack.event(bot, later)

    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    if notice is None:
        assert shown[1].visible == "Answered on a new chain."
    else:  # the user is told the thread started over
        assert shown[1].visible.startswith("Answered on a new chain.")
        assert notice in shown[1].visible
    failed, retried = fake_model.requests[1:]
    assert failed.json["previous_response_id"] == first.response_id
    assert "previous_response_id" not in retried.json
    assert said(retried.json) == [
        ("user", "<@U1>: start a thread"),
        ("assistant", "First answer."),
        ("user", "<@U2>: and U2 adds this"),
        ("user", "<@U1>: what did we say?"),
    ]
    assert retried.json["instructions"]
    assert len(fake_slack.calls_to("conversations.replies")) == 1
    assert await next_turn_chains_on(bot, slack, fake_slack, fake_model, top, 3) == (
        rebuilt.response_id
    )


# -- Model side: failures mid-stream ------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "notice"),
    [
        (error_after("Partial text that was shown"), "Something went wrong on the model's side"),
        (failed_after("Partial text that was shown"), "Something went wrong on the model's side"),
        (cut_after("Partial text that was shown"), DROPPED),
        (stall_after("Partial text that was shown", 3.0), STALLED),
    ],
    ids=["error_event", "response_failed", "cut", "stall"],
)
async def test_a_mid_stream_failure_keeps_the_text_adds_a_notice_and_keeps_the_chain(
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    broken: Script,
    notice: str,
) -> None:
    bot = await start_bot(OPENAI_IDLE_TIMEOUT=0.5)
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    fake_model.enqueue(broken)
    await slack.event(bot, mention("<@UBOT> again", thread_ts=top["ts"]))

    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert shown[1].visible.startswith("Partial text that was shown")
    assert notice in shown[1].visible
    assert len(fake_model.requests) == 2  # text was shown: no retry
    # The chain head stays on the last stored response, not the failed one.
    assert await next_turn_chains_on(bot, slack, fake_slack, fake_model, top, 3) == (
        first.response_id
    )


async def test_an_incomplete_answer_is_kept_said_to_be_cut_short_and_chained_onto(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    cut = answer("A long answer that ran out of", incomplete_reason="max_output_tokens")
    fake_model.enqueue(cut)
    await slack.event(bot, mention("<@UBOT> write a lot", thread_ts=top["ts"]))

    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert shown[1].visible.startswith("A long answer that ran out of")
    assert CUT_SHORT in shown[1].visible
    assert await next_turn_chains_on(bot, slack, fake_slack, fake_model, top, 3) == (
        cut.response_id
    )


# -- One answer's failure never touches another -------------------------------------------------


@pytest.mark.parametrize(
    ("weird", "answered"),
    [
        # Slack refuses the first post outright (its first text): the final write posts
        # the whole answer, so A is answered all the same.
        ({"body": {"ok": False, "error": "invalid_arguments"}}, True),
        # Slack fails the first post with a server error: tried again, A is answered.
        ({"status": 500, "body": {"ok": False, "error": "fatal_error"}}, True),
        # Slack answers ok but without a `ts`: A's edits all fail, the answer is posted anew.
        ({"body": {"ok": True, "weird": ["no ts here"]}}, True),
    ],
    ids=["refused", "server_error", "no_ts"],
)
async def test_an_exception_in_one_answer_never_touches_another(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    weird: dict[str, Any],
    answered: bool,
) -> None:
    steady = slow("Thread B is answered in full, whatever happens in thread A.", 0.05)
    fake_model.enqueue(steady)
    if answered:
        fake_model.enqueue(answer("Thread A gets its answer too."))
    b = mention("<@UBOT> thread b", channel="C2")
    await slack.event(bot, b)
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.update")))
    fake_slack.inject("chat.postMessage", **weird)  # thread A's first Slack call
    a = mention("<@UBOT> thread a", channel="C1")
    await slack.event(bot, a)

    [in_b] = await answer_in(bot, fake_slack, "C2", b["ts"])
    [in_a] = await answer_in(bot, fake_slack, "C1", a["ts"])
    assert in_b.visible == "Thread B is answered in full, whatever happens in thread A."
    if answered:
        assert in_a.visible == "Thread A gets its answer too."
    else:
        assert UNEXPECTED in in_a.visible
    # Both threads go on: A's queue was not poisoned, B chains on its answer.
    fake_model.enqueue(answer("A works again."), answer("B goes on."))
    await slack.event(bot, mention("<@UBOT> again", channel="C1", thread_ts=a["ts"]))
    assert (await answer_in(bot, fake_slack, "C1", a["ts"], count=2))[1].visible == (
        "A works again."
    )
    await slack.event(bot, mention("<@UBOT> more", channel="C2", thread_ts=b["ts"]))
    assert (await answer_in(bot, fake_slack, "C2", b["ts"], count=2))[1].visible == "B goes on."
    assert previous_id(fake_model) == steady.response_id


async def test_an_answer_whose_message_was_deleted_meanwhile_is_posted_anew(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_UPDATE_INTERVAL=5.0)
    text = "Someone deleted the placeholder, but the answer still arrives."
    fake_model.enqueue(slow(text, 0.05))
    event = mention("<@UBOT> go")
    await slack.event(bot, event)
    # The message appears with the first text (no placeholder before it); what the
    # fault below hits is the final write.
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.postMessage")))
    [placeholder] = fake_slack.thread_messages("C1", event["ts"])
    placeholder.deleted = True  # as when a person deletes the bot's message mid-answer

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible == text and message.ts != placeholder.ts


def test_notice_texts_match_the_core() -> None:
    """The notices asserted above are the ones bot/conversation/notices.py says."""
    with open(notices.__file__, encoding="utf-8") as file:
        source = file.read()
    flat = re.sub(r'"\s*\n\s*(f?)"', "", source)
    for text in (BUSY, BAD_KEY, CUT_SHORT, STALLED, DROPPED):
        assert text in flat, text


async def test_a_bot_stopping_mid_answer_without_background_mode_keeps_the_text_and_says_so(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(OPENAI_BACKGROUND="false")
    words = [f"w{i} " for i in range(40)]
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.3))  # 12 s
    top = mention("<@UBOT> a long one")
    await slack.event(bot, top)
    await fake_slack.wait_for(
        lambda: "w1" in fake_slack.thread_text("C1", top["ts"]), what="the first words"
    )
    bot.stopped = True  # stopped here, with a short grace, instead of at teardown
    await bot.bot.stop(grace=0.1)

    [message] = fake_slack.thread_messages("C1", top["ts"])
    assert message.visible.startswith("w0 w1")
    assert message.visible.endswith(f"_{notices.INTERRUPTED}_")
    assert "Thinking…" not in message.visible and "w39" not in message.visible
    assert "background" not in fake_model.requests[0].json
    assert block_ids(message) == []  # the Stop button is gone


async def test_a_bot_stopping_mid_answer_leaves_it_to_the_next_start_which_finishes_it(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot()
    words = [f"w{i} " for i in range(30)]
    full = "".join(words).strip()
    script = answer("".join(words), chunks=words, delay=0.1)  # 3 s, on upstream regardless
    fake_model.enqueue(script)
    top = mention("<@UBOT> a long one")
    await slack.event(bot, top)
    await fake_slack.wait_for(
        lambda: "w1" in fake_slack.thread_text("C1", top["ts"]), what="the first words"
    )
    bot.stopped = True
    await bot.bot.stop(grace=0.1)
    [message] = fake_slack.thread_messages("C1", top["ts"])
    assert "w29" not in message.visible and notices.INTERRUPTED not in message.visible

    again = await start_bot()  # the next start, on the same database
    await fake_slack.wait_for(lambda: message.visible == full, what="the resumed answer")
    await again.idle()
    assert fake_slack.thread_messages("C1", top["ts"]) == [message]  # the same message
    [(resumed_id, after)] = fake_model.resumed
    assert resumed_id == script.response_id and after > 0  # after what was kept, not from 0
    assert len(fake_model.requests) == 1  # the question was not asked again
    assert block_ids(message) == ["answer_feedback"]  # no Stop button left behind
    assert await next_turn_chains_on(again, slack, fake_slack, fake_model, top, 2) == (
        script.response_id
    )


def block_ids(message: Message) -> list[str]:
    return [str(b.get("block_id")) for b in message.blocks or [] if b.get("type") == "actions"]


async def test_a_placeholder_slack_refuses_as_markdown_goes_as_mrkdwn(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_slack.fail("chat.postMessage", "invalid_blocks")
    fake_model.enqueue(answer("Fine, **really**."))
    top = mention("<@UBOT> hi")
    await slack.event(bot, top)
    [message] = await answer_in(bot, fake_slack, "C1", top["ts"])
    assert message.visible == "Fine, *really*."
    assert not message.blocks


async def test_an_answer_whose_response_is_gone_upstream_is_finished_as_interrupted(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot()
    first, script = await first_turn(bot, slack, fake_slack, fake_model)
    words = [f"w{i} " for i in range(30)]
    long = answer("".join(words), chunks=words, delay=0.1)
    fake_model.enqueue(long)
    await slack.event(bot, mention("<@UBOT> a long one", thread_ts=first["ts"]))
    await fake_slack.wait_for(
        lambda: "w1" in fake_slack.thread_text("C1", first["ts"]), what="the first words"
    )
    bot.stopped = True
    await bot.bot.stop(grace=0.1)
    fake_model.runs.clear()  # the API no longer has the response (expired, or lost)

    again = await start_bot()
    [_, message] = fake_slack.thread_messages("C1", first["ts"])
    await fake_slack.wait_for(
        lambda: message.visible.endswith(f"_{notices.INTERRUPTED}_"), what="the notice"
    )
    await again.idle()
    assert message.visible.startswith("w0 w1") and "w29" not in message.visible
    assert block_ids(message) == []  # no Stop button left behind
    assert fake_model.resumed == [(long.response_id, fake_model.resumed[0][1])]
    # The chain stays on the last stored response.
    assert await next_turn_chains_on(again, slack, fake_slack, fake_model, first, 3) == (
        script.response_id
    )
