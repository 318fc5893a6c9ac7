"""Socket Mode, the manifest's default: the bot dials Slack's WebSocket and acks envelopes.

FakeSlack plays Slack: `apps.connections.open` hands out a `ws://` URL on its own
port, the fake says `hello`, pushes envelopes and records the bot's acks.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bot.main import StartupError
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SocketSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack

APP_TOKEN = "xapp-1-test"


@pytest.fixture
async def socket_bot(start_bot: StartBot) -> BotHandle:
    """A bot in Socket Mode: an app token and no signing secret."""
    return await start_bot(SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET="")


async def test_the_bot_opens_the_socket_through_slack_api_url_with_the_app_token(
    socket_bot: BotHandle, fake_slack: FakeSlack
) -> None:
    assert socket_bot.bot.ready and socket_bot.port != 0  # /healthz only (see below)
    [opened] = fake_slack.calls_to("apps.connections.open")
    assert opened.ok and opened.headers["Authorization"] == f"Bearer {APP_TOKEN}"
    await fake_slack.wait_for(lambda: fake_slack.socket_connected, what="the socket")
    assert fake_slack.socket_connections == 1

    await socket_bot.stop()
    await fake_slack.wait_for(lambda: not fake_slack.socket_connected, what="the socket closed")


async def test_a_mention_is_acked_at_once_and_answered_in_its_thread(
    socket_bot: BotHandle, socket: SocketSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_model.enqueue(answer("Over the socket."))
    event = mention("<@UBOT> are you there?")
    ack = await socket.event(event)
    assert ack.frame == {"envelope_id": ack.envelope_id}  # an event ack carries nothing
    assert ack.elapsed < 1.0

    [message] = await answer_in(socket_bot, fake_slack, "C1", event["ts"])
    assert message.visible == "Over the socket."
    assert message.thread_ts == event["ts"]
    assert len(fake_model.requests) == 1
    last_input = fake_model.requests[0].json["input"][-1]
    assert last_input["content"][0]["text"] == "<@U1>: are you there?"


async def test_an_empty_ask_is_acked_with_the_usage_help(
    socket_bot: BotHandle, socket: SocketSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    ack = await socket.command("   ")
    assert ack.payload is not None, ack.frame
    assert "Usage: `/ask your question`" in ack.payload["text"]
    assert ack.payload["response_type"] == "ephemeral"
    await socket_bot.idle()
    assert fake_model.requests == [] and not fake_slack.calls_to("chat.postMessage")


async def test_a_redelivered_event_is_acked_but_answered_once(
    socket_bot: BotHandle, socket: SocketSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    words = ["Only ", "once, ", "however ", "often ", "Slack ", "asks."]
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.05), answer("Next."))
    event = mention("<@UBOT> say it once")
    await socket.event(event, event_id="Ev0RETRY01")
    await fake_model.wait_for_requests(1)
    # Slack redelivers when an ack is late: once while the answer streams, once after.
    during = await socket.event(event, event_id="Ev0RETRY01", retry_attempt=1,
                                retry_reason="timeout")  # fmt: skip
    [message] = await answer_in(socket_bot, fake_slack, "C1", event["ts"])
    after = await socket.event(event, event_id="Ev0RETRY01", retry_attempt=2,
                               retry_reason="timeout")  # fmt: skip
    assert during.frame == {"envelope_id": during.envelope_id}
    assert after.frame == {"envelope_id": after.envelope_id}

    # A new message after the redeliveries: once it is answered, they were handled too.
    later = mention("<@UBOT> something else", channel="C2")
    await socket.event(later)
    [next_message] = await answer_in(socket_bot, fake_slack, "C2", later["ts"])
    assert next_message.visible == "Next."
    assert len(fake_model.requests) == 2
    assert fake_slack.thread_messages("C1", event["ts"]) == [message]
    assert message.visible == "".join(words)


async def test_a_disconnect_frame_makes_the_bot_reconnect_and_keep_answering(
    socket_bot: BotHandle, socket: SocketSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    await fake_slack.socket_send({"type": "disconnect", "reason": "refresh_requested"})
    await fake_slack.wait_for(
        lambda: fake_slack.socket_connections == 2 and fake_slack.socket_connected,
        what="a second connection",
    )
    assert len(fake_slack.calls_to("apps.connections.open")) == 2

    fake_model.enqueue(answer("Still here."))
    event = mention("<@UBOT> after the refresh")
    await socket.event(event)
    [message] = await answer_in(socket_bot, fake_slack, "C1", event["ts"])
    assert message.visible == "Still here."


async def test_a_refused_app_token_stops_the_start_with_one_line(
    start_bot: StartBot, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("apps.connections.open", "invalid_auth")
    with pytest.raises(StartupError, match=r"^Slack refused SLACK_APP_TOKEN \(invalid_auth\)\.$"):
        await asyncio.wait_for(start_bot(SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET=""), 5)
    assert not fake_slack.socket_connected


async def test_a_bot_token_given_as_the_app_token_is_refused(
    start_bot: StartBot, fake_slack: FakeSlack
) -> None:
    with pytest.raises(StartupError, match="not_allowed_token_type"):
        await asyncio.wait_for(
            start_bot(SLACK_APP_TOKEN="xoxb-not-an-app-token", SLACK_SIGNING_SECRET=""), 5
        )


async def test_socket_mode_still_answers_healthz_on_port_and_takes_no_http_events(
    socket_bot: BotHandle,
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{socket_bot.url}/healthz") as reply:
            assert reply.status == 200
            assert (await reply.json())["ok"] is True
        async with session.post(f"{socket_bot.url}/slack/events", data=b"{}") as reply:
            assert reply.status in (404, 405)  # Slack's events come over the socket only
