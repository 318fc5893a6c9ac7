"""The App Home tab: what the bot is, how to ask it, the person's usage today and budget
left; for admins (workspace admins and owners, and BOT_ADMINS), the workspace's day and
its channel settings."""

from __future__ import annotations

from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_home import app_home_opened, home_text, home_views, make_admin
from tests.fakes.usage_streams import costing

WORKSPACE = "The workspace today (admins)"
CHANNELS = "Channel settings (admins)"


async def spend(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, user: str,
    tokens: int,
) -> None:  # fmt: skip
    fake_model.enqueue(costing("Sure.", tokens))
    event = mention("<@UBOT> help", user=user)
    await slack.event(bot, event)
    await answer_in(bot, fake_slack, "C1", event["ts"])


async def open_home(bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, user: str) -> str:
    before = len(home_views(fake_slack, user))
    reply = await slack.event(bot, app_home_opened(user))
    assert reply.status == 200
    await fake_slack.wait_for(
        lambda: len(home_views(fake_slack, user)) > before, what=f"the Home tab of {user}"
    )
    return home_text(fake_slack, user)


async def test_a_person_sees_how_to_ask_and_their_usage_and_budget_left_today(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_USER_DAILY_TOKENS=1000, OPENAI_MODEL="gpt-4.1-mini")
    await spend(bot, slack, fake_slack, fake_model, "U1", 120)
    await spend(bot, slack, fake_slack, fake_model, "U2", 500)

    home = await open_home(bot, slack, fake_slack, "U1")
    assert "<@UBOT> answers questions with OpenAI's `gpt-4.1-mini`" in home
    for way in ("mention <@UBOT>", "*In a direct message*", "*/ask your question*", "assistant"):
        assert way in home
    assert "You've used *120 tokens* today (UTC)." in home
    assert "Your daily budget: 1,000 tokens." in home
    assert "*Left for you today: 880 tokens.*" in home
    assert "Every daily budget resets at 00:00 UTC, in " in home
    assert WORKSPACE not in home and CHANNELS not in home  # not an admin
    [publish] = fake_slack.calls_to("views.publish")
    assert publish.args["user_id"] == "U1" and publish.args["view"]["type"] == "home"


async def test_without_budgets_a_person_sees_there_is_no_limit(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    home = await open_home(bot, slack, fake_slack, "U5")
    assert "You've used *0 tokens* today (UTC)." in home
    assert "There is no daily limit." in home


async def test_admins_also_see_the_workspace_today_and_its_channel_settings(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_WORKSPACE_DAILY_TOKENS=5000, BOT_ADMINS="U8")
    make_admin(fake_slack, "U7")  # a workspace admin, per users.info
    await spend(bot, slack, fake_slack, fake_model, "U1", 300)
    await spend(bot, slack, fake_slack, fake_model, "U2", 700)

    for admin in ("U7", "U8"):  # a workspace admin; one named in BOT_ADMINS
        home = await open_home(bot, slack, fake_slack, admin)
        assert "You've used *0 tokens* today (UTC)." in home
        assert "The workspace's daily budget: 5,000 tokens, 4,000 tokens left for everyone." in home
        assert WORKSPACE in home
        assert "*1,000 tokens* in *2* answers (0 by /ask) for *2* people." in home
        assert "Daily budget: 5,000 tokens, 4,000 tokens left." in home
        assert home.index("<@U2>: 700 tokens") < home.index("<@U1>: 300 tokens")
        assert CHANNELS in home and "Every channel uses the defaults." in home

    home = await open_home(bot, slack, fake_slack, "U1")  # everyone else: their own day only
    assert WORKSPACE not in home and CHANNELS not in home
    assert "You've used *300 tokens* today (UTC)." in home


async def test_the_messages_tab_does_not_publish_the_home_tab(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    reply = await slack.event(bot, app_home_opened("U1", tab="messages"))
    assert reply.status == 200
    await open_home(bot, slack, fake_slack, "U2")  # the Home tab of another is published
    assert home_views(fake_slack, "U1") == []


async def test_malformed_app_home_events_are_acknowledged_and_change_nothing(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    for event in (
        {"type": "app_home_opened", "tab": "home"},  # no user
        {"type": "app_home_opened", "user": 7, "tab": "home"},
        {"type": "app_home_opened", "user": "U3", "tab": ["home"]},
        {"type": "app_home_opened", "user": "U3", "tab": "home", "view": "not a view"},
    ):
        assert (await slack.event(bot, event)).status in (200, 400)  # acked, or a 4xx
    home = await open_home(bot, slack, fake_slack, "U4")  # the bot still draws the tab
    assert "How to ask" in home
    assert {call.args["user_id"] for call in fake_slack.calls_to("views.publish")} <= {"U3", "U4"}
