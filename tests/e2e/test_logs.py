"""Logs carry ids, statuses and codes: never message text, tokens, keys or secrets."""

from __future__ import annotations

import logging

import pytest

from bot.logs import RedactSecrets
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel, answer, http_error
from tests.fakes.slack_api import FakeSlack

QUESTION = "what is the launch codename, project-bluebird-7?"
ANSWER = "It is called moonlit-heron-42."


async def test_a_day_of_answers_and_failures_logs_no_text_or_secret(
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    signing_secret: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await start_bot()
    fake_model.enqueue(
        answer(ANSWER),
        http_error(401, "invalid_api_key", "Incorrect API key provided: sk-test-key"),
    )
    top = mention(f"<@UBOT> {QUESTION}")
    await slack.event(bot, top)
    await answer_in(bot, fake_slack, "C1", top["ts"])
    await slack.event(bot, mention(f"<@UBOT> again: {QUESTION}", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)

    logged = "\n".join(
        r.getMessage() + (r.exc_text or "") for r in caplog.records if r.name.startswith("bot")
    )
    assert "answered in" in logged  # the operator sees each answer…
    assert "status=401 code=invalid_api_key" in logged  # …and why one failed
    for secret in ("xoxb-test-token", "sk-test-key", signing_secret, QUESTION, ANSWER):
        assert secret not in logged


def test_the_log_filter_masks_token_shaped_text_and_known_secrets() -> None:
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "token %s key %s secret %s", None, None
    )
    record.args = ("xoxb-not-a-real-token", "sk-proj-not-real", "my-signing-secret")
    assert RedactSecrets("my-signing-secret").filter(record)
    assert record.getMessage() == "token [redacted] key [redacted] secret [redacted]"
