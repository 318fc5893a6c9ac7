"""Remote MCP tool calls that need approval: the asker gets Approve / Deny buttons in the
thread, their choice goes back chained on the response that asked and the answer goes on;
anyone else's press is refused privately; a pending approval outlives a restart of the
bot and expires after a while — in both stream modes."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import StartBot
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import mention
from tests.e2e.presses import button, ephemerals_to, press
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack, Message
from tests.fakes.tool_streams import approval_request

MODES = pytest.mark.parametrize("mode", ["update", "native"])
APPROVE, DENY = "approve_tool_call", "deny_tool_call"
EXPIRED = "That request has expired, so the tool was not used."
SERVERS = json.dumps(
    [
        {
            "server_label": "docs",
            "server_url": "https://mcp.example.com/sse",
            "require_approval": "always",
        }
    ]
)


def prompt_in(fake_slack: FakeSlack, thread_ts: str) -> Message | None:
    """The thread's message holding Approve / Deny buttons, if one does now."""
    for message in fake_slack.thread_messages("C1", thread_ts):
        if any(b.get("block_id") == "tool_approval" for b in message.blocks or []):
            return message
    return None


async def asked(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> tuple[dict[str, Any], Any, Message]:
    """Mention the bot; the model asks approval to search the docs. (the mention, the
    script that asked, the prompt with its buttons)"""
    asking = approval_request(
        "docs", "search", {"query": "retention <!channel> policy"}, text="Let me look that up."
    )
    fake_model.enqueue(asking)
    top = mention("<@UBOT> what is our retention policy?")
    await slack.event(bot, top)
    await fake_slack.wait_for(lambda: prompt_in(fake_slack, top["ts"]) is not None, what="prompt")
    await bot.idle()
    prompt = prompt_in(fake_slack, top["ts"])
    assert prompt is not None
    return top, asking, prompt


def answer_message(fake_slack: FakeSlack, thread_ts: str) -> Message:
    return fake_slack.thread_messages("C1", thread_ts)[0]


@MODES
async def test_the_asker_approves_and_the_answer_goes_on_after_the_buttons(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_MCP_SERVERS=SERVERS)
    top, asking, prompt = await asked(bot, slack, fake_slack, fake_model)

    # The answer so far says it waits; the prompt names the server, tool and arguments.
    first = answer_message(fake_slack, top["ts"])
    assert first.visible.startswith("Let me look that up.")
    assert first.visible.endswith("_Waiting for approval to use a tool (below)._")
    assert "docs" in prompt.visible and "search" in prompt.visible
    assert "retention &lt;!channel&gt; policy" in prompt.visible  # never a real @channel
    assert "<@U1>" in prompt.visible
    assert len(fake_model.requests) == 1

    fake_model.enqueue(answer("Our retention policy keeps logs for 30 days."))
    await press(bot, slack, prompt, APPROVE, user="U1")
    await fake_model.wait_for_requests(2)
    await fake_slack.wait_for(
        lambda: "30 days" in fake_slack.thread_text("C1", top["ts"]), what="the answer going on"
    )
    await bot.idle()

    second = fake_model.requests[1].json
    assert second["previous_response_id"] == asking.response_id
    assert second["input"] == [
        {
            "type": "mcp_approval_response",
            "approval_request_id": asking.approval_id,
            "approve": True,
        }
    ]
    assert second["tools"] == fake_model.requests[0].json["tools"]
    messages = fake_slack.thread_messages("C1", top["ts"])
    assert [m.ts for m in messages][:2] == [first.ts, prompt.ts]
    assert messages[-1].visible == "Our retention policy keeps logs for 30 days."
    settled = fake_slack.message("C1", prompt.ts)
    assert prompt_in(fake_slack, top["ts"]) is None  # the buttons are gone
    assert "Approved by <@U1>" in settled.visible

    # The thread's chain moved on to the answer after the approval.
    fake_model.enqueue(answer("You're welcome."))
    await slack.event(bot, mention("<@UBOT> thanks", thread_ts=top["ts"]))
    await fake_model.wait_for_requests(3)
    await bot.idle()
    assert fake_model.requests[2].json["previous_response_id"] == fake_model.requests[1].response_id


@MODES
async def test_the_asker_denies_and_the_model_is_told(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_MCP_SERVERS=SERVERS)
    top, asking, prompt = await asked(bot, slack, fake_slack, fake_model)
    fake_model.enqueue(answer("All right, I won't search the docs."))
    await press(bot, slack, prompt, DENY, user="U1")
    await fake_slack.wait_for(
        lambda: "I won't search" in fake_slack.thread_text("C1", top["ts"]), what="the answer"
    )
    await bot.idle()

    assert fake_model.requests[1].json["input"] == [
        {
            "type": "mcp_approval_response",
            "approval_request_id": asking.approval_id,
            "approve": False,
        }
    ]
    assert "Denied by <@U1>" in fake_slack.message("C1", prompt.ts).visible
    assert prompt_in(fake_slack, top["ts"]) is None


@MODES
async def test_someone_else_cannot_approve_and_is_told_privately(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_MCP_SERVERS=SERVERS)
    top, _, prompt = await asked(bot, slack, fake_slack, fake_model)
    await press(bot, slack, prompt, APPROVE, user="U2")
    await fake_slack.wait_for(lambda: bool(ephemerals_to(fake_slack, "U2")), what="a reply")
    assert ephemerals_to(fake_slack, "U2") == ["Only <@U1> can approve or deny this."]
    await bot.idle()
    assert len(fake_model.requests) == 1
    assert prompt_in(fake_slack, top["ts"]) is not None  # still waiting for the asker

    fake_model.enqueue(answer("Found it."))
    key = button(prompt, APPROVE)[1]["value"]
    await press(bot, slack, prompt, APPROVE, user="U1")
    await fake_model.wait_for_requests(2)
    # A second press (from a screen not yet updated) once it is decided starts nothing more.
    await press(bot, slack, prompt, APPROVE, user="U1", value=key)
    await fake_slack.wait_for(lambda: bool(ephemerals_to(fake_slack, "U1")), what="a reply")
    assert ephemerals_to(fake_slack, "U1") == ["That request has already been answered."]
    await bot.idle()
    assert len(fake_model.requests) == 2


@MODES
async def test_a_pending_approval_outlives_a_restart_of_the_bot(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    first_bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_MCP_SERVERS=SERVERS)
    top, asking, prompt = await asked(first_bot, slack, fake_slack, fake_model)
    await first_bot.stop()

    second_bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_MCP_SERVERS=SERVERS)
    fake_model.enqueue(answer("After the restart: 30 days."))
    await press(second_bot, slack, prompt, APPROVE, user="U1")
    await fake_slack.wait_for(
        lambda: "After the restart" in fake_slack.thread_text("C1", top["ts"]), what="answer"
    )
    await second_bot.idle()
    assert fake_model.requests[1].json["previous_response_id"] == asking.response_id
    assert fake_model.requests[1].json["input"][0]["approve"] is True
    assert "Approved by <@U1>" in fake_slack.message("C1", prompt.ts).visible


@MODES
async def test_an_approval_nobody_answers_expires_with_a_notice_and_no_buttons(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_MCP_SERVERS=SERVERS)
    top, _, prompt = await asked(bot, slack, fake_slack, fake_model)
    key = button(prompt, APPROVE)[1]["value"]
    # Fifteen minutes pass (the row's time, in the bot's own database).
    path = bot.settings.DATABASE_URL.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        db.execute("UPDATE approvals SET expires_at = '2000-01-01 00:00:00.000000'")
    await fake_slack.wait_for(
        lambda: prompt_in(fake_slack, top["ts"]) is None, what="the buttons removed"
    )
    expired = fake_slack.message("C1", prompt.ts).visible
    assert "No one approved this within 15 minutes, so the tool was not used." in expired

    await press(bot, slack, prompt, APPROVE, user="U1", value=key)  # a screen not yet updated
    await fake_slack.wait_for(lambda: bool(ephemerals_to(fake_slack, "U1")), what="a reply")
    assert ephemerals_to(fake_slack, "U1") == [EXPIRED]
    await bot.idle()
    assert len(fake_model.requests) == 1


async def test_an_operator_sets_how_long_an_approval_waits(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(OPENAI_MCP_SERVERS=SERVERS, BOT_APPROVAL_MINUTES=60)
    top, _, prompt = await asked(bot, slack, fake_slack, fake_model)
    assert "this expires in 60 minutes" in prompt.visible
    path = bot.settings.DATABASE_URL.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        [(expires_at,)] = db.execute("SELECT expires_at FROM approvals").fetchall()
    left = datetime.fromisoformat(expires_at).replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(minutes=59) < left <= timedelta(minutes=60)

    with sqlite3.connect(path) as db:
        db.execute("UPDATE approvals SET expires_at = '2000-01-01 00:00:00.000000'")
    await fake_slack.wait_for(
        lambda: prompt_in(fake_slack, top["ts"]) is None, what="the buttons removed"
    )
    expired = fake_slack.message("C1", prompt.ts).visible
    assert "No one approved this within 60 minutes, so the tool was not used." in expired


async def test_a_newer_answer_in_the_thread_retires_a_pending_approval(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(OPENAI_MCP_SERVERS=SERVERS)
    top, _, prompt = await asked(bot, slack, fake_slack, fake_model)
    key = button(prompt, APPROVE)[1]["value"]
    fake_model.enqueue(answer("Something else, then."))
    await slack.event(bot, mention("<@UBOT> never mind, something else", thread_ts=top["ts"]))
    await fake_model.wait_for_requests(2)
    await bot.idle()
    # Its buttons are gone at once: the conversation went on without it.
    assert prompt_in(fake_slack, top["ts"]) is None
    went_on = "The conversation went on without this, so the tool was not used."
    assert went_on in fake_slack.message("C1", prompt.ts).visible

    await press(bot, slack, prompt, APPROVE, user="U1", value=key)
    await fake_slack.wait_for(lambda: bool(ephemerals_to(fake_slack, "U1")), what="a reply")
    assert ephemerals_to(fake_slack, "U1") == [EXPIRED]
    assert prompt_in(fake_slack, top["ts"]) is None
    await bot.idle()
    assert len(fake_model.requests) == 2


async def test_where_no_thread_can_be_asked_in_ask_denies_the_call(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(OPENAI_MCP_SERVERS=SERVERS)
    asking = approval_request("docs", "search", {"query": "x"})
    fake_model.enqueue(asking, answer("I answered without the docs."))
    await slack.command(bot, "what does the handbook say?")
    await fake_model.wait_for_requests(2)
    await bot.idle()
    assert fake_model.requests[1].json["input"] == [
        {
            "type": "mcp_approval_response",
            "approval_request_id": asking.approval_id,
            "approve": False,
        }
    ]
    assert any("I answered without the docs." in m.visible for m in fake_slack.bot_messages("C1"))


async def test_in_a_busy_channel_prompts_wait_for_room_and_are_not_lost(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    # Slack allows about one chat.postMessage a second per channel (ten in any ten
    # seconds). Two answers start, then ask approval while seven quick answers fill the
    # channel's share: their prompts must wait for room, not draw a 429 and be lost.
    fake_slack.enforce_tiers()
    bot = await start_bot(OPENAI_MCP_SERVERS=SERVERS)
    asking = [
        mention(f"<@UBOT> look it up {index}", ts=f"1690000001.00000{index}") for index in range(2)
    ]
    for event in asking:
        fake_model.enqueue(
            approval_request("docs", "search", {"query": "x"}, text="Looking.", delay=0.4)
        )
        await slack.event(bot, event)
    for event in asking:
        await fake_slack.wait_for(
            lambda ts=event["ts"]: "Looking." in fake_slack.thread_text("C1", ts),
            what="the first text",
        )
    for index in range(7):
        fake_model.enqueue(answer(f"Answer {index}."))
        event = mention(f"<@UBOT> question {index}")
        await slack.event(bot, event)
        await fake_slack.wait_for(
            lambda ts=event["ts"]: fake_slack.thread_messages("C1", ts), what="an answer"
        )
    assert all(prompt_in(fake_slack, e["ts"]) is None for e in asking)  # still streaming

    # The channel has room again ten seconds after the first of the nine answers.
    await fake_slack.wait_for(
        lambda: all(prompt_in(fake_slack, e["ts"]) for e in asking), timeout=30, what="prompts"
    )
    await bot.idle()
    assert fake_slack.rate_limited() == [], f"{len(fake_slack.rate_limited())} HTTP 429s"
