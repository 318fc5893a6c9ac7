"""A user's view of the core: mentions, DMs and /ask answered by streamed, chained calls."""

from __future__ import annotations

from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import bot_message, channel_join, dm, mention, message_changed, new_ts
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack


def user_text(request_json: dict) -> str:  # type: ignore[type-arg]
    """The text of the request's last input item."""
    last = request_json["input"][-1]
    return str(last["content"][0]["text"])


async def test_a_mention_is_answered_in_its_thread_with_the_model_text(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_model.enqueue(answer("The deploy **finished** at 14:02 UTC."))
    event = mention("<@UBOT> when did the deploy finish?")
    reply = await slack.event(bot, event)
    assert reply.status == 200

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible == "The deploy **finished** at 14:02 UTC."
    assert message.thread_ts == event["ts"]
    request = fake_model.requests[0].json
    assert request["stream"] is True and request["store"] is True
    assert request["model"] == "gpt-4.1" and request["instructions"]
    assert "previous_response_id" not in request
    assert user_text(request) == "<@U1>: when did the deploy finish?"
    assert fake_model.requests[0].headers["Authorization"] == "Bearer sk-test-key"


async def test_a_long_stream_is_edited_several_times_and_never_faster_than_the_interval(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    interval = 0.5
    bot = await start_bot(BOT_UPDATE_INTERVAL=interval)
    words = [f"word{i} " for i in range(16)]
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.2))  # about 3 seconds
    event = mention("<@UBOT> talk slowly")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])

    assert message.visible == "".join(words).strip()
    edits = [c for c in fake_slack.calls_to("chat.update") if c.args.get("ts") == message.ts]
    assert len(edits) >= 3, fake_slack.summary()
    interim = edits[:-1]  # the final write comes when the answer ends, whatever the interval
    gaps = [b.at - a.at for a, b in zip(interim, interim[1:], strict=False)]
    assert all(gap >= interval * 0.9 for gap in gaps), gaps
    assert len(edits) <= 3.2 / interval + 2


async def test_later_mentions_in_the_thread_chain_on_the_previous_response(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    first, second, third = answer("One."), answer("Two."), answer("Three.")
    fake_model.enqueue(first, second, third)
    top = mention("<@UBOT> count with me")
    await slack.event(bot, top)
    await answer_in(bot, fake_slack, "C1", top["ts"])
    await slack.event(bot, mention("<@UBOT> next", user="U2", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    await slack.event(bot, mention("<@UBOT> and next", thread_ts=top["ts"]))
    answers = await answer_in(bot, fake_slack, "C1", top["ts"], count=3)

    assert [a.visible for a in answers] == ["One.", "Two.", "Three."]
    requests = [r.json for r in fake_model.requests]
    assert "previous_response_id" not in requests[0]
    assert requests[1]["previous_response_id"] == first.response_id
    assert requests[2]["previous_response_id"] == second.response_id
    # Only the new turn is sent, and it says who speaks.
    assert [len(r["input"]) for r in requests] == [1, 1, 1]
    assert user_text(requests[1]) == "<@U2>: next"


async def test_a_dm_is_answered_in_its_thread_and_replies_continue_it(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    first = answer("Hi! What do you need?")
    fake_model.enqueue(first, answer("Sure, here it is."))
    top = dm("hello")
    await slack.event(bot, top)
    [reply] = await answer_in(bot, fake_slack, "D1", top["ts"])
    assert reply.visible == "Hi! What do you need?"

    await slack.event(bot, dm("the report please", thread_ts=top["ts"]))
    answers = await answer_in(bot, fake_slack, "D1", top["ts"], count=2)
    assert answers[1].visible == "Sure, here it is."
    assert fake_model.requests[1].json["previous_response_id"] == first.response_id


async def test_ask_posts_the_question_and_answer_in_the_channel_without_context(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_model.enqueue(answer("Forty-two."))
    reply = await slack.command(bot, "what is the answer?", channel_id="C7")
    assert reply.status == 200 and reply.elapsed < 3

    await fake_slack.wait_for(
        lambda: any("Forty-two." in m.visible for m in fake_slack.bot_messages("C7"))
    )
    [message] = fake_slack.bot_messages("C7")
    assert message.visible.startswith("<@U1> asked: what is the answer?")
    assert message.thread_ts is None  # a message of its own in the channel
    request = fake_model.requests[0].json
    assert "previous_response_id" not in request and len(request["input"]) == 1


async def test_ask_where_the_bot_cannot_post_answers_through_response_url(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_model.enqueue(answer("Only you can see this."))
    fake_slack.fail("chat.postMessage", "not_in_channel")
    url = fake_slack.response_url("private-1")
    await slack.command(bot, "a private question", channel_id="G1", response_url=url)

    await fake_slack.wait_for(
        lambda: any("Only you can see this." in p.get("text", "") for p in
                    fake_slack.response_url_posts_to("private-1"))
    )  # fmt: skip
    posts = fake_slack.response_url_posts_to("private-1")
    assert all(p["response_type"] == "ephemeral" for p in posts)
    assert posts[-1]["replace_original"] is True
    assert "<@U1> asked: a private question" in posts[-1]["text"]
    assert not fake_slack.bot_messages("G1")


async def test_empty_ask_gets_usage_help_only_the_asker_sees(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    reply = await slack.command(bot, "   ")
    assert reply.status == 200
    assert "Usage: `/ask your question`" in reply.text
    assert reply.json["response_type"] == "ephemeral"
    await bot.idle()
    assert fake_model.requests == [] and not fake_slack.calls_to("chat.postMessage")


async def test_bots_own_messages_edits_and_joins_are_not_answered(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top = dm("a real question")
    for event in (
        bot_message("I am another bot"),
        bot_message("my own answer", bot_id="BBOT", user="UBOT", subtype=None),
        message_changed("edited", ts=new_ts()),
        channel_join(),
    ):
        assert (await slack.event(bot, event)).status == 200
    fake_model.enqueue(answer("Only this one."))
    await slack.event(bot, top)  # a real one after them, to know they were all processed
    await answer_in(bot, fake_slack, "D1", top["ts"])
    await bot.idle()
    assert len(fake_model.requests) == 1
    assert user_text(fake_model.requests[0].json) == "<@U1>: a real question"


async def test_a_bad_signature_gets_401_and_no_answer(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    import json

    body = json.dumps({"type": "event_callback", "team_id": "T1", "event": mention("<@UBOT> hi")})
    reply = await slack.raw(bot, body, secret="not-the-signing-secret")
    assert reply.status == 401
    unsigned = await slack.raw(bot, body, sign_request=False)
    assert unsigned.status == 401
    await bot.idle()
    assert fake_model.requests == [] and not fake_slack.calls_to("chat.postMessage")


async def test_the_chain_survives_a_restart(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    first = answer("Remembered.")
    fake_model.enqueue(first, answer("Still here."))
    bot = await start_bot()
    top = mention("<@UBOT> remember this")
    await slack.event(bot, top)
    await answer_in(bot, fake_slack, "C1", top["ts"])
    await bot.stop()

    again = await start_bot()
    await slack.event(again, mention("<@UBOT> what did I say?", thread_ts=top["ts"]))
    await answer_in(again, fake_slack, "C1", top["ts"], count=2)
    assert fake_model.requests[1].json["previous_response_id"] == first.response_id


async def test_native_mode_streams_with_start_append_stop(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_STREAM_MODE="native", BOT_UPDATE_INTERVAL=0.3)
    words = [f"part{i} " for i in range(8)]
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.15))
    top = mention("<@UBOT> stream it", user="U5", channel="C2")
    await slack.event(bot, top)
    [message] = await answer_in(bot, fake_slack, "C2", top["ts"])

    assert message.visible.strip() == "".join(words).strip()
    [start] = fake_slack.calls_to("chat.startStream")
    assert start.args["thread_ts"] == top["ts"]
    assert (start.args["recipient_user_id"], start.args["recipient_team_id"]) == ("U5", "T1")
    appends = fake_slack.calls_to("chat.appendStream")
    assert len(appends) >= 2
    gaps = [b.at - a.at for a, b in zip(appends, appends[1:], strict=False)]
    assert all(gap >= 0.3 * 0.9 for gap in gaps), gaps
    [stop] = fake_slack.calls_to("chat.stopStream")
    # One edit once the stream has stopped: the whole text, with its Stop button gone.
    [final] = fake_slack.calls_to("chat.update")
    assert fake_slack.calls.index(stop) < fake_slack.calls.index(final)


async def test_healthz_is_200_once_ready(bot: BotHandle) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{bot.url}/healthz") as reply:
        assert reply.status == 200
        assert (await reply.json())["ok"] is True
