"""The final write of an answer lands, once, or the user is told (issue 7).

Slack fails the final write (an `internal_error`, a 5xx, a dropped connection,
a run of 429s), loses the answer to a post it carried out, or refuses Markdown
blocks part-way through a long answer; the model declines or writes nothing.
Each test asserts what a person finally sees in the thread.
"""

from __future__ import annotations

import html
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation import notices
from bot.slack import buttons
from bot.slack.calls import FinalWriteFailed, Persistence, RepeatSafely
from bot.slack.thread_writer import ThreadWriter
from bot.slack.update_delivery import UpdateDelivery
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in, answers
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel, answer, refusal, split_words
from tests.fakes.slack_api import FakeSlack, Message


def stripped(text: str) -> str:
    return "".join(text.split())


def has_stop(message: Message) -> bool:
    return any(b.get("block_id") == buttons.CONTROLS_BLOCK for b in message.blocks or [])


QUICK = Persistence(seconds=5.0, first_wait=0.05, settle=0.05)  # for tests of one writer


def slack_client(fake_slack: FakeSlack) -> AsyncWebClient:
    """A Slack client set up as the bot's is (bot/main.py)."""
    return AsyncWebClient(
        token="xoxb-test", base_url=fake_slack.url, retry_handlers=[RepeatSafely()]
    )


def long_text(paragraphs: int, *, line: str = "words and more words") -> str:
    return "\n\n".join(f"Paragraph {i}: " + " ".join([line] * 40) + "." for i in range(paragraphs))


# -- case 2: the final write is retried through Slack's failures ---------------------------


FAILURES: dict[str, dict[str, Any]] = {
    "internal_error": {"body": {"ok": False, "error": "internal_error"}, "times": 2},
    "fatal_error": {"body": {"ok": False, "error": "fatal_error"}},
    "service_unavailable": {"body": {"ok": False, "error": "service_unavailable"}},
    "http_500": {"status": 500, "body": {"ok": False, "error": "internal_error"}},
    "http_503_not_json": {"status": 503, "body": "<html>Service Unavailable</html>"},
    "many_429s": {
        "status": 429,
        "body": {"ok": False, "error": "ratelimited"},
        "headers": {"Retry-After": "0"},
        "times": 8,
    },
}


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_a_final_edit_that_slack_fails_is_retried_and_lands(
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    failure: str,
) -> None:
    bot = await start_bot(BOT_UPDATE_INTERVAL=5.0)  # one interim edit, then the final write
    text = "The final write lands, whatever Slack says the first time."
    fake_model.enqueue(answer(text, chunks=split_words(text), delay=0.05))
    event = mention("<@UBOT> go")
    await slack.event(bot, event)
    # The message appears with the first text (no placeholder before it); what the
    # fault below hits is the final write.
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.postMessage")))
    fake_slack.inject("chat.update", **FAILURES[failure])

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible == text
    assert not has_stop(message)  # no live Stop button left on a finished answer
    assert buttons.shows_feedback(message.blocks or [])
    assert [c.ok for c in fake_slack.calls_to("chat.update")][-1]
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_a_final_edit_whose_connection_drops_twice_still_lands(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_UPDATE_INTERVAL=5.0)
    text = "Dropped connections are no reason to leave a Stop button behind."
    fake_model.enqueue(answer(text, chunks=split_words(text), delay=0.05))
    event = mention("<@UBOT> go")
    await slack.event(bot, event)
    # The message appears with the first text (no placeholder before it); what the
    # fault below hits is the final write.
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.postMessage")))
    fake_slack.lose_answer("chat.update", times=2)

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible == text and not has_stop(message)
    outcomes = [c.outcome for c in fake_slack.calls_to("chat.update")]
    assert outcomes.count("dropped after ok") == 2 and outcomes[-1] == "ok"


async def test_a_native_stream_whose_stop_slack_fails_still_ends_with_the_whole_text(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_STREAM_MODE="native", BOT_UPDATE_INTERVAL=0.1)
    words = [f"word{i} " for i in range(10)]
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.05))
    fake_slack.fail("chat.stopStream", "internal_error")
    fake_slack.fail("chat.update", "internal_error")
    event = mention("<@UBOT> stream it", channel="C2")
    await slack.event(bot, event)

    [message] = await answer_in(bot, fake_slack, "C2", event["ts"])
    assert message.visible.split() == "".join(words).split()
    assert not message.streaming
    assert len(fake_slack.calls_to("chat.startStream")) == 1


@pytest.mark.parametrize("lost", ["placeholder", "continuation"])
async def test_a_post_whose_answer_is_lost_is_not_posted_twice(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    lost: str,
) -> None:
    text = long_text(16)  # about 14,000 characters: two messages
    assert 12_000 < len(text) < 20_000
    fake_model.enqueue(answer(text, chunks=[text[:500], text[500:]], delay=0.2))
    event = mention("<@UBOT> a long one")
    if lost == "placeholder":
        fake_slack.lose_answer("chat.postMessage")
    await slack.event(bot, event)
    if lost == "continuation":
        await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.postMessage")))
        fake_slack.lose_answer("chat.postMessage")

    await answer_in(bot, fake_slack, "C1", event["ts"], count=2)
    shown = fake_slack.thread_messages("C1", event["ts"])
    assert len(shown) == 2, fake_slack.summary()
    assert stripped("".join(m.visible for m in shown)) == stripped(text)
    assert not any(has_stop(m) for m in shown)
    outcomes = [c.outcome for c in fake_slack.calls_to("chat.postMessage")]
    assert "dropped after ok" in outcomes
    assert fake_slack.calls_to("conversations.replies")  # it looked before posting again


# -- case 2: a final write that cannot land raises, and can be tried again -----------------


async def test_a_final_write_that_cannot_land_raises_and_a_second_finish_lands_it(
    fake_slack: FakeSlack,
) -> None:
    client = slack_client(fake_slack)
    quick = Persistence(seconds=0.6, attempt_seconds=0.3, first_wait=0.05)
    writer = ThreadWriter(client, "C1", "1690000000.000001", persistence=quick)
    stop = buttons.stop_block("T1:C1:1690000000.000001", "U1")
    delivery = UpdateDelivery(writer, 0.05, stop=stop)
    await delivery.start()
    await delivery.show("Partial text so far")
    await fake_slack.wait_for(  # posted with the first text, by the delivery's pacer
        lambda: bool(fake_slack.thread_messages("C1", "1690000000.000001"))
    )
    fake_slack.fail("chat.update", "internal_error", times=1000)

    with pytest.raises(FinalWriteFailed):
        await delivery.finish("The whole answer.")
    [message] = fake_slack.thread_messages("C1", "1690000000.000001")
    assert has_stop(message)  # not finished: the write never landed

    fake_slack.clear_faults()
    await delivery.finish("The whole answer.")  # tried again (as a resumer would): it lands
    assert message.visible == "The whole answer." and not has_stop(message)
    await delivery.finish("A later failure must not rewrite it.")  # once it has landed
    assert message.visible == "The whole answer."


async def test_a_post_that_times_out_after_slack_carried_it_out_is_not_posted_twice(
    fake_slack: FakeSlack,
) -> None:
    client = slack_client(fake_slack)
    quick = Persistence(seconds=5.0, attempt_seconds=0.3, first_wait=0.05, settle=0.8)
    writer = ThreadWriter(client, "C1", "1690000000.000001", persistence=quick)
    fake_slack.lose_answer("chat.postMessage", late=1.0)

    await writer.write_final(None, "Posted once, although its answer came too late.", None)
    [message] = fake_slack.thread_messages("C1", "1690000000.000001")
    assert message.visible == "Posted once, although its answer came too late."
    assert [c.outcome for c in fake_slack.calls_to("chat.postMessage")] == ["late after ok"]


# -- case 6: refusals and empty answers ------------------------------------------------------


async def test_a_refusal_is_shown_with_a_plain_notice(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    declined = "I'm sorry, but I can't help with that."
    fake_model.enqueue(refusal(declined))
    event = mention("<@UBOT> something I should not ask")
    await slack.event(bot, event)

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert declined in message.visible
    assert notices.DECLINED in message.visible
    assert not has_stop(message)


async def test_an_empty_answer_says_so(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_model.enqueue(answer(""))
    event = mention("<@UBOT> hm")
    await slack.event(bot, event)

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible.strip() == f"_{notices.EMPTY}_"
    assert not has_stop(message)


def test_the_new_notices_are_plain_words() -> None:
    assert notices.DECLINED == "The model declined to answer this."
    assert notices.EMPTY == ("The model finished without writing an answer. Please try rephrasing.")


# -- case 7: Markdown refused part-way through a long answer -----------------------------------


def unescaped(message: Message) -> str:
    """What a person reads: mrkdwn entities shown as characters."""
    return html.unescape(message.visible)


async def test_markdown_refused_part_way_continues_where_it_failed(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_UPDATE_INTERVAL=5.0)
    fake_slack.max_text_length = 4000  # as Slack: longer `text` is msg_too_long
    # Escaping makes mrkdwn longer: each `&` becomes `&amp;`, each `<` `&lt;`.
    text = long_text(35, line="Tom & Jerry < Spike")  # about 28,000 characters
    assert 25_000 < len(text) < 33_000
    fake_model.enqueue(answer(text, chunks=[text[:500], text[500:]], delay=0.2))
    # The placeholder is the first post, the second part the second: the third is refused.
    fake_slack.refuse_markdown("chat.postMessage", from_call=3)
    event = mention("<@UBOT> tell me everything")
    await slack.event(bot, event)

    await answer_in(bot, fake_slack, "C1", event["ts"], count=3)
    shown = answers(fake_slack, "C1", event["ts"])
    posts = fake_slack.calls_to("chat.postMessage")
    assert "invalid_blocks" in [c.outcome for c in posts]
    assert "msg_too_long" not in [c.outcome for c in fake_slack.calls]
    first, second, *rest = shown
    assert first.blocks and second.blocks  # what landed as Markdown stays as it was
    assert rest and all(not m.blocks and len(m.text) <= 4000 for m in rest)
    # Nothing posted twice, nothing lost.
    assert stripped("".join(unescaped(m) for m in shown)) == stripped(text)
    for paragraph in text.split("\n\n"):
        assert sum(paragraph in unescaped(m) for m in shown) == 1, paragraph[:20]


async def test_a_final_edit_slack_refuses_outright_is_told_with_the_whole_text(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    """The queue's fallback finishes the answer, as the delivery was not marked finished."""
    bot = await start_bot(BOT_UPDATE_INTERVAL=5.0)  # one interim edit, then the final write
    text = "Every word of this answer reaches the thread, even after a refused write."
    fake_model.enqueue(answer(text, chunks=split_words(text), delay=0.05))
    event = mention("<@UBOT> go")
    await slack.event(bot, event)
    # The message appears with the first text (no placeholder before it); what the
    # fault below hits is the final write.
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.postMessage")))
    fake_slack.fail("chat.update", "invalid_arguments")

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible == f"{text}\n_{notices.UNEXPECTED}_"
    assert not has_stop(message)
    assert "invalid_arguments" in [c.outcome for c in fake_slack.calls_to("chat.update")]


async def test_a_post_outside_a_thread_whose_answer_is_lost_is_not_posted_twice(
    fake_slack: FakeSlack,
) -> None:
    """As /ask posts in the channel: the channel's newest messages are looked through."""
    client = slack_client(fake_slack)
    writer = ThreadWriter(client, "C1", None, header="<@U1> asked: hi", persistence=QUICK)
    fake_slack.lose_answer("chat.postMessage")

    await writer.write_final(None, "Once, in the channel.", None)
    [message] = fake_slack.bot_messages("C1")
    assert message.visible == "<@U1> asked: hi\nOnce, in the channel."
    assert [c.method for c in fake_slack.calls if c.method.startswith("conversations.")] == [
        "conversations.history"
    ]


async def test_a_rate_limited_look_is_waited_out_before_anything_is_posted_again(
    fake_slack: FakeSlack,
) -> None:
    client = slack_client(fake_slack)
    writer = ThreadWriter(
        client, "C1", "1690000000.000001", after="1690000000.000001", persistence=QUICK
    )
    fake_slack.lose_answer("chat.postMessage")
    fake_slack.rate_limit("conversations.replies", retry_after=0, times=2)

    await writer.write_final(None, "Looked for three times, posted once.", None)
    assert len(fake_slack.thread_messages("C1", "1690000000.000001")) == 1
    looks = fake_slack.calls_to("conversations.replies")
    assert [c.outcome for c in looks] == ["ratelimited", "ratelimited", "ok"]
    assert looks[-1].args["oldest"] == "1690000000.000001"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_a_final_write_that_cannot_land_still_moves_the_chain_and_lands_later(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_FINAL_WRITE_SECONDS=1.0, BOT_ANSWER_LEASE=1.0)
    text = "The stored answer, written once Slack is back."
    script = answer(text, chunks=split_words(text), delay=0.05)
    fake_model.enqueue(script)
    fake_slack.fail("chat.update", "service_unavailable", times=10_000)  # Slack is down
    event = mention("<@UBOT> go")
    await slack.event(bot, event)
    await fake_slack.wait_for(
        lambda: len(fake_slack.calls_to("chat.update")) > 3, what="edits Slack does not take"
    )
    await bot.idle()  # the answer gave up for now
    [message] = fake_slack.thread_messages("C1", event["ts"])
    assert message.visible != text and has_stop(message)
    store = bot.bot._store
    assert await store.chain_head("T1", "C1", event["ts"]) == script.response_id  # moved

    fake_slack.clear_faults()  # Slack is back: the left answer is taken up again
    await fake_slack.wait_for(lambda: message.visible == text, what="the final text")
    await fake_slack.wait_for(lambda: not has_stop(message), what="no Stop button")
    assert fake_slack.thread_messages("C1", event["ts"]) == [message]
    assert len(fake_model.requests) == 1
