"""Several workers on one PostgreSQL database spend one daily budget: what each worker's
answers cost is counted where every worker reads it. Runs when TEST_DATABASE_URL names a
PostgreSQL database (CI sets it)."""

from __future__ import annotations

from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel
from tests.fakes.slack_api import FakeSlack
from tests.fakes.usage_streams import costing
from tests.support.postgres import needs_postgres

pytestmark = needs_postgres


async def test_two_workers_count_into_one_user_budget(
    database: str,
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    first = await start_bot(DATABASE_URL=database, BOT_USER_DAILY_TOKENS=100)
    second = await start_bot(DATABASE_URL=database, BOT_USER_DAILY_TOKENS=100)
    fake_model.enqueue(costing("On the first.", 60), costing("On the second.", 60))
    for bot in (first, second):  # 60 tokens each: under 100 when asked, 120 together
        event = mention("<@UBOT> hello")
        await slack.event(bot, event)
        await answer_in(bot, fake_slack, "C1", event["ts"])

    for count, bot in enumerate((first, second), 1):  # either worker knows it is spent
        event = mention("<@UBOT> more")
        await slack.event(bot, event)
        await fake_slack.wait_for(
            lambda n=count: len(fake_slack.ephemerals) >= n,
            what="a refusal",
        )
        await bot.idle()
        note = fake_slack.ephemerals[-1]
        assert note["user"] == "U1" and note["thread_ts"] == event["ts"]
        assert note["text"].startswith("You've reached your daily limit of 100 tokens.")
    assert len(fake_model.requests) == 2
