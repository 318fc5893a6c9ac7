"""`GET /metrics`: the numbers an operator watches, read with prometheus-client's parser."""

from __future__ import annotations

import logging

import pytest

from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender, SocketSender
from tests.e2e.payloads import mention
from tests.e2e.presses import STOP, press
from tests.fakes.responses_api import FakeModel, answer, http_error
from tests.fakes.slack_api import FakeSlack
from tests.support.metrics import scrape

QUESTION = "what is the launch codename, project-bluebird-7?"


async def test_metrics_count_a_completed_answer_a_failed_model_call_and_a_stop(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    before = await scrape(bot.port)
    assert before.types["bot_answers"] == "counter"
    assert before.types["bot_first_text_seconds"] == "histogram"
    assert before.types["bot_live_answers"] == "gauge"
    for outcome in ("completed", "incomplete", "failed", "stopped", "error", "refused"):
        assert before.value("bot_answers_total", outcome=outcome) == 0
    assert before.value("bot_slack_calls_total", method="auth.test", status="ok") == 1

    # A completed answer, one of whose edits Slack rate-limits.
    fake_slack.rate_limit("chat.update", retry_after=1)
    fake_model.enqueue(answer("The deploy finished.", delay=0.05))
    first = mention(f"<@UBOT> {QUESTION}")
    await slack.event(bot, first)
    await answer_in(bot, fake_slack, "C1", first["ts"])

    # The model refuses the key.
    fake_model.enqueue(http_error(401, "invalid_api_key", "Incorrect API key provided."))
    second = mention("<@UBOT> and the next one?")
    await slack.event(bot, second)
    await answer_in(bot, fake_slack, "C1", second["ts"])

    # A long answer, stopped by its asker.
    words = [f"w{i} " for i in range(40)]
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.3))
    third = mention("<@UBOT> tell me a long story")
    await slack.event(bot, third)
    await fake_slack.wait_for(
        lambda: "w1" in fake_slack.thread_text("C1", third["ts"]), what="the first words"
    )
    during = await scrape(bot.port)
    assert during.value("bot_live_answers") == 1
    [message] = fake_slack.thread_messages("C1", third["ts"])
    await press(bot, slack, message, STOP, user="U1")
    await answer_in(bot, fake_slack, "C1", third["ts"])

    after = await scrape(bot.port)
    assert after.value("bot_answers_total", outcome="completed") == 1
    assert after.value("bot_answers_total", outcome="error") == 1
    assert after.value("bot_answers_total", outcome="stopped") == 1
    assert after.value("bot_answers_total", outcome="refused") == 0
    assert after.value("bot_model_errors_total", code="invalid_api_key") == 1
    assert after.value("bot_live_answers") == 0
    # Two answers showed text (the failed one never did); all three ended.
    assert after.value("bot_first_text_seconds_count") == 2
    assert after.value("bot_answer_seconds_count") == 3
    first_text = after.value("bot_first_text_seconds_sum")
    answer_time = after.value("bot_answer_seconds_sum")
    assert first_text is not None and answer_time is not None and 0 < first_text < answer_time
    assert after.value("bot_first_text_seconds_bucket", le="+Inf") == 2
    # Every Slack Web API call, by method and how it went.
    posts = after.value("bot_slack_calls_total", method="chat.postMessage", status="ok")
    assert posts is not None and posts >= 3
    assert after.value("bot_slack_calls_total", method="chat.update", status="ratelimited") == 1
    edits = after.value("bot_slack_calls_total", method="chat.update", status="ok")
    assert edits is not None and edits >= 3
    calls = sum(s.value for s in after.with_labels("bot_slack_calls_total"))
    assert calls == len(fake_slack.calls)  # each one the fake received, counted once


async def test_metrics_and_healthz_are_served_in_socket_mode(
    start_bot: StartBot, socket: SocketSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(SLACK_APP_TOKEN="xapp-1-test", SLACK_SIGNING_SECRET="")
    fake_model.enqueue(answer("Over the socket."))
    event = mention("<@UBOT> are you there?")
    await socket.event(event)
    await answer_in(bot, fake_slack, "C1", event["ts"])

    scraped = await scrape(bot.port)
    assert scraped.value("bot_answers_total", outcome="completed") == 1
    assert scraped.value("bot_first_text_seconds_count") == 1
    opened = scraped.value("bot_slack_calls_total", method="apps.connections.open", status="ok")
    assert opened == 1


async def test_refused_signatures_are_counted_and_logged_once_without_their_bodies(
    bot: BotHandle, slack: SlackSender, fake_model: FakeModel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = f'{{"type": "event_callback", "event": {{"text": "{QUESTION}"}}}}'
    for _ in range(3):
        reply = await slack.raw(bot, body, secret="not-the-signing-secret")
        assert reply.status == 401
    reply = await slack.raw(bot, body, timestamp=1_000_000_000)  # signed, but long ago
    assert reply.status == 401
    reply = await slack.raw(bot, body, sign_request=False)
    assert reply.status == 401

    scraped = await scrape(bot.port)
    assert scraped.value("bot_rejected_requests_total", reason="bad_signature") == 3
    assert scraped.value("bot_rejected_requests_total", reason="stale_timestamp") == 1
    assert scraped.value("bot_rejected_requests_total", reason="unsigned") == 1
    lines = [r for r in caplog.records if r.name == "bot.slack.refusals"]
    assert len(lines) == 1  # at most one line a minute
    assert "1 request(s)" in lines[0].getMessage()
    assert "SLACK_SIGNING_SECRET" in lines[0].getMessage()
    assert not any(QUESTION in r.getMessage() for r in caplog.records)
    assert fake_model.requests == []
