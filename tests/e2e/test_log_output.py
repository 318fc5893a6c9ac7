"""What `python -m bot` writes to its log, as an operator's platform collects it: JSON lines
with BOT_LOG_FORMAT=json, and no message text or secret even with BOT_LOG_LEVEL=DEBUG."""

from __future__ import annotations

import json
import signal

from tests.e2e.conftest import StartProcess
from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack
from tests.support.process import BotProcess

QUESTION = "what is the launch codename, project-bluebird-7?"
ANSWER = "It is called moonlit-heron-42."


async def ask_and_stop(
    bot: BotProcess, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> str:
    """One question answered; then the bot is stopped. Its whole log."""
    fake_model.enqueue(answer(ANSWER))
    event = mention(f"<@UBOT> {QUESTION}")
    reply = await slack.event(bot, event)
    assert reply.status == 200
    await fake_slack.wait_for(
        lambda: ANSWER in fake_slack.thread_text("C1", event["ts"]), what="the answer"
    )
    bad = await slack.raw(bot, json.dumps(event), secret="a-wrong-signing-secret")
    assert bad.status == 401
    assert await bot.signal(signal.SIGTERM) == 0
    return bot.log.read_text()


async def test_debug_logs_carry_no_message_text_token_or_secret(
    bot_process: StartProcess,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    signing_secret: str,
) -> None:
    bot = await bot_process(BOT_LOG_LEVEL="DEBUG")
    logged = await ask_and_stop(bot, slack, fake_slack, fake_model)
    assert "bot ready" in logged and "answered in" in logged
    assert "refused 1 request(s)" in logged  # the bad signature, without its body
    for text in (QUESTION, ANSWER, "xoxb-test-token", "sk-test-key", signing_secret):
        assert text not in logged


async def test_json_logs_are_one_object_per_line(
    bot_process: StartProcess, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await bot_process(BOT_LOG_FORMAT="json")
    logged = await ask_and_stop(bot, slack, fake_slack, fake_model)
    entries = [json.loads(line) for line in logged.splitlines()]
    assert entries and all(
        {"time", "level", "logger", "message"} <= set(entry) for entry in entries
    )
    [ready] = [e for e in entries if e["message"].startswith("bot ready")]
    assert ready["level"] == "INFO" and ready["logger"] == "bot.main"
    assert ready["time"].endswith("+00:00")
    assert any(e["logger"] == "bot.slack.refusals" for e in entries)
    assert QUESTION not in logged and ANSWER not in logged
