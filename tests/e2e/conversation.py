"""Waiting on what a person in Slack would see: the bot's answer in a thread."""

from __future__ import annotations

from tests.e2e.harness import BotHandle
from tests.fakes.slack_api import FakeSlack, Message


def answers(fake_slack: FakeSlack, channel: str, thread_ts: str) -> list[Message]:
    """The bot's messages in a thread that are no longer placeholders or live streams."""
    return [
        m
        for m in fake_slack.thread_messages(channel, thread_ts)
        if m.visible and "Thinking…" not in m.visible and not m.streaming
    ]


async def answer_in(
    bot: BotHandle,
    fake_slack: FakeSlack,
    channel: str,
    thread_ts: str,
    *,
    count: int = 1,
    timeout: float = 15.0,  # noqa: ASYNC109 - a deadline, not a cancel scope
) -> list[Message]:
    """Wait until the thread shows `count` answers and the bot has finished them."""
    await fake_slack.wait_for(
        lambda: len(answers(fake_slack, channel, thread_ts)) >= count,
        timeout=timeout,
        what=f"{count} answer(s) in {channel}/{thread_ts}",
    )
    await bot.idle()  # the last answer was under way: now it has settled
    return answers(fake_slack, channel, thread_ts)
