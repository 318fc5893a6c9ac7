"""Pressing the bot's buttons as a person would: Slack sends the message as it is shown."""

from __future__ import annotations

import copy
from typing import Any

from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import block_action
from tests.fakes.slack_api import FakeSlack, Message

STOP = "stop_answer"


def button(message: Message, action_id: str) -> tuple[str, dict[str, Any]]:
    """(block_id, button element) of the message's button with that action_id."""
    for found in message.blocks or []:
        for element in found.get("elements", []) if found.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return str(found["block_id"]), element
    raise AssertionError(f"no {action_id} button on {message.ts}: {message.blocks}")


async def press(
    bot: BotHandle,
    slack: SlackSender,
    message: Message,
    action_id: str,
    *,
    user: str,
    value: str | None = None,
) -> None:
    """`user` clicks the button on `message` as it is shown now (Slack sends its blocks)."""
    block_id, element = button(message, action_id) if value is None else ("answer_controls", {})
    payload = block_action(
        action_id,
        element["value"] if value is None else value,
        user=user,
        channel=message.channel,
        message_ts=message.ts,
        thread_ts=message.thread_ts,
        block_id=block_id,
        text=message.text,
        blocks=copy.deepcopy(message.blocks or []),
    )
    reply = await slack.action(bot, payload)
    assert reply.status == 200, reply.text


def ephemerals_to(fake_slack: FakeSlack, user: str) -> list[str]:
    """The texts of the private messages shown to `user`."""
    return [str(e["text"]) for e in fake_slack.ephemerals if e.get("user") == user]
