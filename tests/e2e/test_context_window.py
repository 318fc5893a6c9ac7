"""Long threads keep working: requests ask the API to manage the context window, and an
endpoint that refuses the field is asked with the next weaker one."""

from __future__ import annotations

from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel, answer, http_error
from tests.fakes.slack_api import FakeSlack

COMPACTION = [{"type": "compaction", "compact_threshold": 200_000}]


async def test_requests_ask_for_compaction_by_default(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot()
    top = mention("<@UBOT> hi")
    await slack.event(bot, top)
    await answer_in(bot, fake_slack, "C1", top["ts"])
    request = fake_model.requests[0].json
    assert request["context_management"] == COMPACTION
    assert "truncation" not in request


async def test_a_proxy_that_refuses_compaction_gets_truncation_and_it_is_remembered(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot()
    fake_model.enqueue(
        http_error(400, "unknown_parameter", "Unknown parameter: 'context_management'."),
        answer("Answered anyway."),
        answer("Second."),
    )
    top = mention("<@UBOT> hi")
    await slack.event(bot, top)
    [first] = await answer_in(bot, fake_slack, "C1", top["ts"])
    assert first.visible == "Answered anyway."  # the user never sees the refusal
    await slack.event(bot, mention("<@UBOT> again", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)

    refused, retried, later = (r.json for r in fake_model.requests)
    assert refused["context_management"] == COMPACTION
    assert retried["truncation"] == "auto" and "context_management" not in retried
    assert later["truncation"] == "auto" and "context_management" not in later


async def test_off_sends_neither_field(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(OPENAI_CONTEXT_MANAGEMENT="off")
    top = mention("<@UBOT> hi")
    await slack.event(bot, top)
    await answer_in(bot, fake_slack, "C1", top["ts"])
    request = fake_model.requests[0].json
    assert "context_management" not in request and "truncation" not in request
