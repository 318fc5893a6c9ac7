"""What each request asks of the model: the settings reach the API as its fields, in
both stream modes; a JSON answer is shown as a code block."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack

MODES = pytest.mark.parametrize("mode", ["update", "native"])

ASKED = {"model", "instructions", "input", "store", "stream", "background"}
ASKED |= {"context_management"}  # the bot's own: long threads keep working


@MODES
async def test_unset_parameters_are_not_sent(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode)
    fake_model.enqueue(answer("Hello."))
    event = mention("<@UBOT> hi")
    await slack.event(bot, event)
    await answer_in(bot, fake_slack, "C1", event["ts"])
    assert set(fake_model.requests[0].json) <= ASKED


@MODES
async def test_every_parameter_reaches_the_model(
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    mode: str,
    tmp_path: Path,
) -> None:
    bot = await start_bot(
        BOT_STREAM_MODE=mode,
        OPENAI_MODEL="o4-mini",
        OPENAI_MAX_OUTPUT_TOKENS=800,
        OPENAI_TEMPERATURE=0.3,
        OPENAI_TOP_P=0.8,
        OPENAI_REASONING_EFFORT="high",
        OPENAI_TEXT_VERBOSITY="low",
        OPENAI_SERVICE_TIER="flex",
        OPENAI_TOOLS="web_search,file_search",
        OPENAI_VECTOR_STORE_IDS="vs_handbook",
    )
    fake_model.enqueue(answer("Done."))
    event = mention("<@UBOT> plan the offsite")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible == "Done."
    request = fake_model.requests[0].json
    assert request["model"] == "o4-mini"
    assert request["max_output_tokens"] == 800
    assert request["temperature"] == 0.3
    assert request["top_p"] == 0.8
    assert request["reasoning"] == {"effort": "high"}
    assert request["text"] == {"verbosity": "low"}
    assert request["service_tier"] == "flex"
    assert request["tools"] == [
        {"type": "web_search"},
        {"type": "file_search", "vector_store_ids": ["vs_handbook"]},
    ]


@MODES
async def test_a_json_answer_is_shown_as_a_code_block(
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    mode: str,
    tmp_path: Path,
) -> None:
    schema = {
        "name": "release",
        "schema": {"type": "object", "properties": {"version": {"type": "string"}}},
        "strict": True,
    }
    (tmp_path / "release.json").write_text(json.dumps(schema))
    bot = await start_bot(BOT_STREAM_MODE=mode, OPENAI_TEXT_FORMAT=str(tmp_path / "release.json"))
    fake_model.enqueue(answer('{"version": "2.4.1"}', chunks=['{"version"', ': "2.4.1"}']))
    event = mention("<@UBOT> which version shipped?")
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert fake_model.requests[0].json["text"] == {"format": {"type": "json_schema", **schema}}
    assert message.visible == '```json\n{"version": "2.4.1"}\n```'
