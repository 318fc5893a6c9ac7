"""Slack's agent experience (`agent_view`, issue 10) and the older Assistant view, side by
side: an app created before keeps working.

Under `agent_view`, opening the DM with the bot sends `app_home_opened` with tab
"messages" (not `assistant_thread_started`), prompts are set for the DM without a
`thread_ts`, and a DM has no `assistant_app_thread` root: each top-level message starts
its own thread.
"""

from __future__ import annotations

from bot.slack import assistant
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import assistant_thread_started, dm
from tests.e2e.settings_payloads import app_home_opened
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack

PROMPTS = [{"title": title, "message": message} for title, message in assistant.DEFAULT_PROMPTS]


async def test_opening_the_dm_sets_prompts_for_it_without_a_thread(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack
) -> None:
    assert (await slack.event(bot, app_home_opened(tab="home", channel="D4"))).status == 200
    assert (await slack.event(bot, app_home_opened(tab="messages", channel="D4"))).status == 200
    await fake_slack.wait_for(
        lambda: bool(fake_slack.calls_to("assistant.threads.setSuggestedPrompts")),
        what="suggested prompts",
    )
    [prompts] = fake_slack.calls_to("assistant.threads.setSuggestedPrompts")
    assert prompts.args["channel_id"] == "D4"
    assert "thread_ts" not in prompts.args  # an agent app's call with one is dropped
    assert prompts.args["prompts"] == PROMPTS
    assert not fake_slack.bot_messages("D4")  # no greeting posted each time the DM opens


async def test_a_dm_without_an_assistant_root_is_answered_in_its_thread(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    await slack.event(bot, app_home_opened(tab="messages", channel="D4"))
    fake_model.enqueue(answer("Paris."), answer("About 2.1 million."))
    question = dm("What is the capital of France?", channel="D4")
    await slack.event(bot, question)
    [first] = await answer_in(bot, fake_slack, "D4", question["ts"])
    assert first.visible == "Paris."

    follow_up = dm("And its population?", channel="D4", thread_ts=question["ts"])
    await slack.event(bot, follow_up)
    shown = await answer_in(bot, fake_slack, "D4", question["ts"], count=2)
    assert shown[-1].visible == "About 2.1 million."
    assert fake_model.requests[1].json["previous_response_id"] == fake_model.requests[0].response_id
    # No Assistant thread here: nothing to title.
    assert not fake_slack.calls_to("assistant.threads.setTitle")


async def test_the_older_assistant_view_still_greets_and_prompts_its_thread(
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
    assert fake_slack.thread_messages("D9", thread_ts)[0].visible == assistant.GREETING

    fake_model.enqueue(answer("Here you go."))
    await slack.event(bot, dm("Summarise the launch", channel="D9", thread_ts=thread_ts))
    shown = await answer_in(bot, fake_slack, "D9", thread_ts, count=2)
    assert shown[-1].visible == "Here you go."
    [title] = fake_slack.calls_to("assistant.threads.setTitle")
    assert title.args["title"] == "Summarise the launch"
