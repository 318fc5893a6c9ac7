"""Settings per channel (issue 10): set by an operator with `python -m bot settings`, or
by a workspace admin in Slack's modal (`/ask-settings`); the next answer in that channel
asks the model with them. Anyone else is told privately that they cannot.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from bot.slack.settings_modal import NOT_ALLOWED
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender, SocketSender
from tests.e2e.payloads import mention
from tests.e2e.settings_payloads import view_submission
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack
from tests.support.process import REPO


@dataclass
class Ran:
    code: int
    out: str
    err: str


async def settings_command(database_url: str, *args: str, **environment: str) -> Ran:
    """`python -m bot settings …` as an operator runs it: DATABASE_URL (and the given
    defaults) in its environment, no Slack or OpenAI keys."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": database_url,
        **environment,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "settings", *args, env=env, cwd=REPO / "tests",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


def shown(output: str) -> dict[str, tuple[str, str]]:
    """`settings show` output → name → (value, source)."""
    rows = {}
    for line in output.splitlines()[1:]:
        name, rest = line.split(maxsplit=1)
        value, _, source = rest.rpartition("  (")
        rows[name] = (value.strip(), source.rstrip(")"))
    return rows


async def asked_in(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, channel: str
) -> dict[str, Any]:
    """Mention the bot in `channel`; the request the model got for it."""
    fake_model.enqueue(answer("Done."))
    before = len(fake_model.requests)
    event = mention("<@UBOT> plan the offsite", channel=channel)
    await slack.event(bot, event)
    await answer_in(bot, fake_slack, channel, event["ts"])
    return fake_model.requests[before].json


async def open_settings(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, *, user: str, channel: str = "C7"
) -> dict[str, Any]:
    """`user` runs /ask-settings in `channel`; the modal Slack was asked to open."""
    opened = len(fake_slack.calls_to("views.open"))
    reply = await slack.command(bot, "", command="/ask-settings", user_id=user, channel_id=channel)
    assert reply.status == 200 and not reply.text
    await fake_slack.wait_for(
        lambda: len(fake_slack.calls_to("views.open")) > opened, what="the settings modal"
    )
    call = fake_slack.calls_to("views.open")[-1]
    assert call.ok and call.args["trigger_id"]
    return list(fake_slack.views.values())[-1]


def field(view: dict[str, Any], name: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == f"setting_{name}")


# -- operators: python -m bot settings ------------------------------------------------------


async def test_an_operator_sets_a_channel_and_the_next_answer_there_uses_it(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    defaults = {"OPENAI_TEMPERATURE": "1.0", "OPENAI_REASONING_EFFORT": "low"}
    bot = await start_bot(**defaults)
    url = bot.settings.DATABASE_URL
    done = await settings_command(
        url, "set", "--team", "T1", "--channel", "C7",
        "model=gpt-4o-mini", "temperature=0.2", "tools=web_search,code_interpreter",
        **defaults,
    )  # fmt: skip
    assert done.code == 0, done.err
    workspace = await settings_command(
        url, "set", "--team", "T1", "--workspace", "max_output_tokens=500", **defaults
    )
    assert workspace.code == 0, workspace.err

    here = await asked_in(bot, slack, fake_slack, fake_model, "C7")
    assert here["model"] == "gpt-4o-mini"
    assert here["temperature"] == 0.2
    assert here["tools"] == [
        {"type": "web_search"},
        {"type": "code_interpreter", "container": {"type": "auto"}},
    ]
    assert here["max_output_tokens"] == 500  # the workspace's
    assert here["reasoning"] == {"effort": "low"}  # the environment's

    elsewhere = await asked_in(bot, slack, fake_slack, fake_model, "C1")
    assert elsewhere["model"] == "gpt-4.1"
    assert elsewhere["temperature"] == 1.0
    assert "tools" not in elsewhere
    assert elsewhere["max_output_tokens"] == 500

    # The bot serves one workspace: --team may be left out.
    show = await settings_command(url, "show", "--channel", "C7", **defaults)
    assert show.code == 0, show.err
    assert "channel C7 in workspace T1" in show.out
    assert shown(show.out) == {
        "model": ("gpt-4o-mini", "channel"),
        "instructions": (shown(show.out)["instructions"][0], "environment"),
        "tools": ("web_search,code_interpreter", "channel"),
        "temperature": ("0.2", "channel"),
        "max_output_tokens": ("500", "workspace"),
        "reasoning_effort": ("low", "environment"),
    }

    # NAME= clears a channel's value: the workspace's or the environment's holds again.
    cleared = await settings_command(url, "set", "--channel", "C7", "temperature=", "tools=")
    assert cleared.code == 0, cleared.err
    rows = shown(cleared.out)
    assert rows["temperature"] == ("(not set: the API's default)", "environment")
    assert rows["tools"] == ("none", "environment")
    assert rows["model"] == ("gpt-4o-mini", "channel")


async def test_bad_names_and_values_get_one_line_and_change_nothing(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot()
    url = bot.settings.DATABASE_URL
    nobody_yet = await settings_command(url, "show", "--channel", "C7")
    assert nobody_yet.code != 0
    assert "give --team" in nobody_yet.err

    set_ = ("set", "--team", "T1", "--channel", "C7")
    for wrong, says in [
        (["colour=red"], "unknown setting 'colour'"),
        (["model=gpt-4o", "temperature=3"], "temperature must be a number from 0 to 2"),
        (["tools=web_search,fax"], "unknown tool 'fax'"),
        (["tools=file_search"], "OPENAI_VECTOR_STORE_IDS"),
        (["reasoning_effort=extreme"], "reasoning_effort must be one of"),
        (["max_output_tokens=ten"], "max_output_tokens must be a whole number"),
        (["model"], "is not NAME=VALUE"),
    ]:
        ran = await settings_command(url, *set_, *wrong)
        assert ran.code != 0, wrong
        assert [line for line in ran.err.splitlines() if line] == [
            f"Cannot set settings: {ran.err.split(': ', 1)[1].strip()}"
        ]
        assert says in ran.err, (wrong, ran.err)
        assert not ran.out

    request = await asked_in(bot, slack, fake_slack, fake_model, "C7")
    assert request["model"] == "gpt-4.1"  # the good value beside a bad one was not kept
    assert "temperature" not in request

    with_stores = await settings_command(
        url, *set_, "tools=file_search", OPENAI_VECTOR_STORE_IDS="vs_handbook"
    )
    assert with_stores.code == 0, with_stores.err


# -- in Slack: /ask-settings -----------------------------------------------------------------


@pytest.mark.parametrize("role", ["is_admin", "is_owner"])
async def test_a_workspace_admin_changes_a_channel_in_the_modal(
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    role: str,
) -> None:
    bot = await start_bot(OPENAI_TEMPERATURE=1.0)
    fake_slack.set_user("U5", **{role: True})
    view = await open_settings(bot, slack, fake_slack, user="U5")
    assert view["title"]["text"] == "Channel settings"
    model = field(view, "model")
    assert "initial_value" not in model["element"]  # nothing set for this channel yet
    assert "gpt-4.1" in model["hint"]["text"] and "the environment" in model["hint"]["text"]
    assert "1.0" in field(view, "temperature")["hint"]["text"]

    submission = view_submission(
        view,
        {"setting_model": "gpt-4o", "setting_temperature": "0.4", "setting_tools": "web_search"},
        user="U5",
    )
    reply = await slack.action(bot, submission)
    assert reply.status == 200 and not reply.text  # the modal closes

    request = await asked_in(bot, slack, fake_slack, fake_model, "C7")
    assert (request["model"], request["temperature"]) == ("gpt-4o", 0.4)
    assert request["tools"] == [{"type": "web_search"}]

    # Opened again: the channel's own values in the fields, and where each comes from.
    again = await open_settings(bot, slack, fake_slack, user="U5")
    assert field(again, "model")["element"]["initial_value"] == "gpt-4o"
    assert "this channel" in field(again, "model")["hint"]["text"]

    # A bad value: shown under its field, as Slack shows errors; nothing is kept.
    bad = view_submission(
        again, {"setting_temperature": "hot", "setting_model": "gpt-5"}, user="U5"
    )
    reply = await slack.action(bot, bad)
    assert reply.status == 200
    assert reply.json["response_action"] == "errors"
    assert list(reply.json["errors"]) == ["setting_temperature"]
    assert "temperature must be a number from 0 to 2" in reply.json["errors"]["setting_temperature"]
    request = await asked_in(bot, slack, fake_slack, fake_model, "C7")
    assert (request["model"], request["temperature"]) == ("gpt-4o", 0.4)


async def test_anyone_else_is_told_privately_and_nothing_changes(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot()
    response_url = fake_slack.response_url("refused")
    reply = await slack.command(
        bot, "", command="/ask-settings", user_id="U9", channel_id="C7", response_url=response_url
    )
    assert reply.status == 200 and not reply.text
    await fake_slack.wait_for(
        lambda: bool(fake_slack.response_url_posts_to("refused")), what="the refusal"
    )
    [refusal] = fake_slack.response_url_posts_to("refused")
    assert refusal["response_type"] == "ephemeral"
    assert refusal["text"] == NOT_ALLOWED
    assert not fake_slack.calls_to("views.open")

    # A modal opened for an admin, submitted by someone else, changes nothing either.
    fake_slack.set_user("U5", is_admin=True)
    view = await open_settings(bot, slack, fake_slack, user="U5")
    forged = view_submission(view, {"setting_model": "gpt-4o"}, user="U9")
    assert (await slack.action(bot, forged)).status == 200
    request = await asked_in(bot, slack, fake_slack, fake_model, "C7")
    assert request["model"] == "gpt-4.1"


async def test_bot_admins_may_change_a_channel_without_being_workspace_admins(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_ADMINS="U3, U8")
    view = await open_settings(bot, slack, fake_slack, user="U8", channel="C2")
    reply = await slack.action(
        bot, view_submission(view, {"setting_reasoning_effort": "high"}, user="U8")
    )
    assert reply.status == 200 and not reply.text
    request = await asked_in(bot, slack, fake_slack, fake_model, "C2")
    assert request["reasoning"] == {"effort": "high"}
    assert not fake_slack.calls_to("users.info")  # BOT_ADMINS need no look-up


async def test_the_modal_works_over_socket_mode_with_its_field_errors(
    start_bot: StartBot, socket: SocketSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    await start_bot(SLACK_APP_TOKEN="xapp-1-test", SLACK_SIGNING_SECRET="", BOT_ADMINS="U8")
    ack = await socket.command("", command="/ask-settings", user_id="U8", channel_id="C7")
    assert not ack.payload  # acked at once; the modal opens after
    await fake_slack.wait_for(lambda: bool(fake_slack.views), what="the settings modal")
    [view] = fake_slack.views.values()
    bad = view_submission(view, {"setting_max_output_tokens": "lots"}, user="U8")
    answered = await socket.envelope("interactive", bad, accepts_response_payload=True)
    assert answered.payload["response_action"] == "errors", answered.frame
    assert list(answered.payload["errors"]) == ["setting_max_output_tokens"]
