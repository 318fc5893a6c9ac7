"""How many Slack calls an answer makes: at most 2 + its duration ÷ BOT_UPDATE_INTERVAL
(issue 11), in both stream modes, without losing what people see (the message at once,
the first text fast, the Stop button while it streams, the final text)."""

from __future__ import annotations

import time

from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import Events, FakeModel, Script, answer, stream_of
from tests.fakes.slack_api import MESSAGE_CALLS, Call, FakeSlack


def answer_calls(fake_slack: FakeSlack, channel: str) -> list[Call]:
    """The calls that posted, streamed or edited the answer's message."""
    return [
        c
        for c in fake_slack.calls
        if c.method in MESSAGE_CALLS and c.args.get("channel") == channel and c.ok
    ]


def words_of(count: int) -> list[str]:
    return [f"w{i}" + (" " if i < count - 1 else "") for i in range(count)]


def slow_start(words: list[str], delay: float) -> Script:
    """A model that says nothing for a while (`delay` between every event, its opening
    ones included), then streams `words`."""
    text = "".join(words)

    def make(ev: Events) -> list[dict]:  # type: ignore[type-arg]
        return [
            *ev.opening(),
            *[ev.delta(word) for word in words],
            *ev.closing(text, "completed"),
            ev.completed(text),
        ]

    return stream_of(make, delay=delay)


async def test_a_quick_answer_is_posted_with_its_text_no_placeholder_before_it(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_UPDATE_INTERVAL=1.0)
    text = "The build is green."
    fake_model.enqueue(answer(text, chunks=[text[:9], text[9:]], delay=0.3))
    event = mention("<@UBOT> is the build green?")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    await bot.idle()

    assert message.visible == text
    calls = answer_calls(fake_slack, "C1")
    # Posted with its text (and the Stop button), then the final write: two calls.
    assert [c.method for c in calls] == ["chat.postMessage", "chat.update"]
    assert all("Thinking…" not in text for text in message.history)
    assert "answer_controls" in str(calls[0].args["blocks"])  # the Stop button


async def test_a_slow_model_gets_a_placeholder_and_the_calls_stay_within_the_allowance(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    interval = 0.3
    bot = await start_bot(BOT_UPDATE_INTERVAL=interval)
    words = words_of(8)
    fake_model.enqueue(slow_start(words, 0.4))  # the first word after about 1.5 s
    event = mention("<@UBOT> think first")
    sent = time.monotonic()
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    await bot.idle()
    duration = time.monotonic() - sent

    assert message.visible == "".join(words)
    calls = answer_calls(fake_slack, "C1")
    # People saw at once that an answer was coming, then the text replaced it.
    assert message.history[0] == "_Thinking…_"
    assert calls[0].method == "chat.postMessage"
    assert len(calls) <= 2 + duration / interval, [c.method for c in calls]


async def test_a_long_stream_makes_at_most_two_calls_plus_one_per_interval(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    interval = 0.25
    bot = await start_bot(BOT_UPDATE_INTERVAL=interval)
    words = words_of(30)
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.05))  # about 1.5 s
    event = mention("<@UBOT> a longer one")
    sent = time.monotonic()
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    await bot.idle()
    duration = time.monotonic() - sent

    assert message.visible == "".join(words)
    calls = answer_calls(fake_slack, "C1")
    assert len(calls) >= 4  # it was edited as it streamed
    assert len(calls) <= 2 + duration / interval, [c.method for c in calls]


async def test_a_native_stream_starts_with_its_first_text_and_stays_within_the_allowance(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    interval = 0.25
    bot = await start_bot(BOT_STREAM_MODE="native", BOT_UPDATE_INTERVAL=interval)
    words = words_of(30)
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.05))  # about 1.5 s
    event = mention("<@UBOT> stream it", channel="C2")
    sent = time.monotonic()
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C2", event["ts"])
    await bot.idle()
    duration = time.monotonic() - sent

    assert message.visible.split() == "".join(words).split()
    calls = answer_calls(fake_slack, "C2")
    [start] = [c for c in calls if c.method == "chat.startStream"]
    chunks = start.args["chunks"]
    assert [c["type"] for c in chunks] == ["blocks", "markdown_text"]  # Stop button, text
    assert chunks[1]["text"].startswith("w0")
    assert [c.method for c in calls][-2:] == ["chat.stopStream", "chat.update"]
    assert len(calls) <= 2 + duration / interval, [c.method for c in calls]


async def test_a_native_answer_done_before_its_stream_starts_is_simply_posted(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_STREAM_MODE="native", BOT_UPDATE_INTERVAL=1.0)
    fake_model.enqueue(answer("Yes."))
    event = mention("<@UBOT> quick?", channel="C2")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C2", event["ts"])
    await bot.idle()

    assert message.visible == "Yes." and not message.streaming
    methods = [c.method for c in answer_calls(fake_slack, "C2")]
    # Streamed with its text, or (done first) posted: never an empty stream before it.
    assert methods in (
        ["chat.startStream", "chat.stopStream", "chat.update"],
        ["chat.postMessage"],
    ), methods
