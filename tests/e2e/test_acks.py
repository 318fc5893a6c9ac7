"""Slack's acknowledgement never waits behind the bot's own work: a busy database
holds up the answer, never the ack, and what was acknowledged is still answered once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack

FAST = 1.0  # seconds: an ack, on a loaded test machine, well inside Slack's 3


def database_file(bot: BotHandle) -> Path:
    url = bot.settings.DATABASE_URL
    return Path(url.split(":///", 1)[1])


async def test_a_mention_is_acked_while_the_database_is_busy_and_answered_once_after(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_model.enqueue(answer("Answered after the database was free."))
    event = mention("<@UBOT> are you there?")
    writer = sqlite3.connect(database_file(bot), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another writer holds the database
        first = await slack.event(bot, event, event_id="Ev1")
        retry = await slack.event(bot, event, event_id="Ev1", retry_num=1)
        assert (first.status, retry.status) == (200, 200)
        assert first.elapsed < FAST and retry.elapsed < FAST
        assert fake_slack.thread_messages("C1", event["ts"]) == []  # not yet kept, not answered
    finally:
        writer.execute("COMMIT")
        writer.close()

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible == "Answered after the database was free."
    assert len(fake_model.requests) == 1
