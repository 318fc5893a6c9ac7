"""Who may ask, and how much: allow-lists and daily token budgets, as people in Slack see
them (a private refusal and no model call), and as operators read them
(`python -m bot usage`)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import usage
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import dm, mention
from tests.fakes.responses_api import FakeModel
from tests.fakes.slack_api import FakeSlack
from tests.fakes.usage_streams import costing

NOT_FOR_YOU = "Sorry, I only answer the people this bot is set up for."
NOT_HERE = "Sorry, I don't answer in this channel."
REPO = Path(__file__).resolve().parents[2]
RESETS = re.compile(r"It resets at 00:00 UTC, in (\d+ h )?(\d+ min)?\.$")


def ephemerals_to(fake_slack: FakeSlack, user: str) -> list[dict]:  # type: ignore[type-arg]
    return [e for e in fake_slack.ephemerals if e.get("user") == user]


async def refused(bot: BotHandle, fake_slack: FakeSlack, user: str, count: int = 1) -> dict:  # type: ignore[type-arg]
    """Wait for the `count`-th private note to `user`, and for the bot to settle."""
    await fake_slack.wait_for(
        lambda: len(ephemerals_to(fake_slack, user)) >= count, what=f"a refusal to {user}"
    )
    await bot.idle()
    return ephemerals_to(fake_slack, user)[count - 1]


async def ask_in_thread(
    bot: BotHandle,
    slack: SlackSender,
    fake_slack: FakeSlack,
    event: dict,  # type: ignore[type-arg]
) -> str:
    await slack.event(bot, event)
    [message] = await answer_in(bot, fake_slack, event["channel"], event["ts"])
    return message.visible


# -- who may ask ----------------------------------------------------------------------------


async def test_only_allowed_users_are_answered_others_are_told_privately(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_ALLOWED_USERS="U1, U2")
    outsider = mention("<@UBOT> what's the wifi password?", user="U9")
    await slack.event(bot, outsider)
    note = await refused(bot, fake_slack, "U9")
    assert note["text"].startswith(NOT_FOR_YOU)
    assert (note["channel"], note["thread_ts"]) == ("C1", outsider["ts"])
    assert fake_model.requests == []  # the model was not asked
    assert fake_slack.thread_messages("C1", outsider["ts"]) == []  # nothing anyone else sees

    fake_model.enqueue(costing("It's on the board.", 40))
    assert await ask_in_thread(bot, slack, fake_slack, mention("<@UBOT> wifi?", user="U2")) == (
        "It's on the board."
    )
    assert len(fake_model.requests) == 1
    assert len(ephemerals_to(fake_slack, "U9")) == 1  # one refusal for the one message


async def test_only_allowed_channels_are_answered_and_direct_messages_always(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_ALLOWED_CHANNELS="C1")
    elsewhere = mention("<@UBOT> summarise this channel", channel="C2")
    await slack.event(bot, elsewhere)
    note = await refused(bot, fake_slack, "U1")
    assert note["text"].startswith(NOT_HERE)
    assert (note["channel"], note["thread_ts"]) == ("C2", elsewhere["ts"])
    assert fake_model.requests == []

    url = fake_slack.response_url("ask-in-c2")
    await slack.command(bot, "and here?", channel_id="C2", response_url=url)
    await fake_slack.wait_for(lambda: bool(fake_slack.response_url_posts_to("ask-in-c2")))
    await bot.idle()
    [post] = fake_slack.response_url_posts_to("ask-in-c2")
    assert post["response_type"] == "ephemeral" and post["text"].startswith(NOT_HERE)
    assert fake_model.requests == [] and fake_slack.bot_messages("C2") == []

    fake_model.enqueue(costing("Hello from a DM.", 30), costing("Hello in C1.", 30))
    assert await ask_in_thread(bot, slack, fake_slack, dm("hi")) == "Hello from a DM."
    assert await ask_in_thread(bot, slack, fake_slack, mention("<@UBOT> hi")) == "Hello in C1."


# -- how much ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["update", "native"])
async def test_a_user_over_the_daily_budget_is_told_when_it_resets_others_are_answered(
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    mode: str,
) -> None:
    bot = await start_bot(BOT_USER_DAILY_TOKENS=100, BOT_STREAM_MODE=mode)
    fake_model.enqueue(costing("A long answer.", 120))  # under budget when asked: answered
    assert await ask_in_thread(bot, slack, fake_slack, mention("<@UBOT> explain")) == (
        "A long answer."
    )

    again = mention("<@UBOT> and more?")
    await slack.event(bot, again)
    note = await refused(bot, fake_slack, "U1")
    assert note["text"].startswith("You've reached your daily limit of 100 tokens.")
    assert RESETS.search(note["text"]), note["text"]
    assert (note["channel"], note["thread_ts"]) == ("C1", again["ts"])
    assert len(fake_model.requests) == 1  # no model call for the refused turn
    assert fake_slack.thread_messages("C1", again["ts"]) == []

    fake_model.enqueue(costing("Your own budget.", 50))
    assert await ask_in_thread(bot, slack, fake_slack, mention("<@UBOT> hi", user="U2")) == (
        "Your own budget."
    )


async def test_a_workspace_over_its_daily_budget_refuses_everyone(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_WORKSPACE_DAILY_TOKENS=100, BOT_USER_DAILY_TOKENS=1000)
    fake_model.enqueue(costing("First.", 60), costing("Second.", 60))
    assert await ask_in_thread(bot, slack, fake_slack, mention("<@UBOT> a", user="U1")) == "First."
    assert await ask_in_thread(bot, slack, fake_slack, dm("b", user="U2")) == "Second."

    await slack.event(bot, mention("<@UBOT> c", user="U3"))
    note = await refused(bot, fake_slack, "U3")
    assert note["text"].startswith("This workspace has reached its daily limit of 100 tokens.")
    assert RESETS.search(note["text"]), note["text"]
    assert len(fake_model.requests) == 2


async def test_ask_is_counted_and_refused_over_budget(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_USER_DAILY_TOKENS=100)
    fake_model.enqueue(costing("Forty-two.", 150))
    await slack.command(bot, "what is the answer?", channel_id="C7")
    await fake_slack.wait_for(
        lambda: any("Forty-two." in m.visible for m in fake_slack.bot_messages("C7"))
    )
    await bot.idle()

    # The /ask's tokens count: the next question, a mention, is refused…
    await slack.event(bot, mention("<@UBOT> one more"))
    assert (await refused(bot, fake_slack, "U1"))["text"].startswith("You've reached your daily")
    # …and so is the next /ask, privately, through its response_url.
    url = fake_slack.response_url("ask-over")
    await slack.command(bot, "and again?", channel_id="C7", response_url=url)
    await fake_slack.wait_for(lambda: bool(fake_slack.response_url_posts_to("ask-over")))
    await bot.idle()
    [post] = fake_slack.response_url_posts_to("ask-over")
    assert post["response_type"] == "ephemeral"
    assert post["text"].startswith("You've reached your daily limit of 100 tokens.")
    assert RESETS.search(post["text"]), post["text"]
    assert len(fake_model.requests) == 1
    assert len(fake_slack.bot_messages("C7")) == 1


async def test_usage_is_reported_by_user_channel_model_and_day_with_ask(
    start_bot: StartBot,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bot = await start_bot(OPENAI_MODEL="gpt-4.1-mini")
    fake_model.enqueue(costing("One.", 1200, output=200), costing("Two.", 300, output=100))
    await ask_in_thread(bot, slack, fake_slack, mention("<@UBOT> one", user="U1"))
    await slack.command(bot, "two", user_id="U2", channel_id="C7")
    await fake_slack.wait_for(
        lambda: any("Two." in m.visible for m in fake_slack.bot_messages("C7"))
    )
    await bot.idle()

    await usage(bot.settings, days=7)
    out = capsys.readouterr().out
    today = datetime.now(UTC).date().isoformat()
    table = {line.split()[1]: line.split() for line in out.splitlines() if line.startswith(today)}
    # day, user, channel, model, answers, /ask, input, output, total
    assert table["U1"] == [today, "U1", "C1", "gpt-4.1-mini", "1", "0", "1,000", "200", "1,200"]
    assert table["U2"] == [today, "U2", "C7", "gpt-4.1-mini", "1", "1", "200", "100", "300"]
    total = next(line for line in out.splitlines() if line.startswith("total")).split()
    assert total == ["total", "2", "1", "1,200", "300", "1,500"]
    assert "turns in threads (all time): 1" in out
    assert "feedback: 0 👍, 0 👎" in out


async def run_bot(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> tuple[int, str, str]:
    """`python -m bot ARGS` of this checkout, with only `env` for settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "BOT_"))}
    clean.update(env, PYTHONPATH=str(REPO))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=tmp_path, env=clean,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_usage_command_counts_the_console_and_takes_a_number_of_days(
    fake_model: FakeModel, tmp_path: Path
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    fake_model.enqueue(costing("From the console.", 90))
    code, out, _ = await run_bot(
        tmp_path, "console", stdin="hello\n\n", OPENAI_API_KEY="sk-test-key",
        OPENAI_BASE_URL=fake_model.url, DATABASE_URL=database,
    )  # fmt: skip
    assert code == 0 and "From the console." in out

    settings = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret"}
    code, out, err = await run_bot(
        tmp_path, "usage", "--days", "1", OPENAI_API_KEY="sk-test-key", DATABASE_URL=database,
        **settings,
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("Tokens by day, user, channel and model, today (UTC):")
    today = datetime.now(UTC).date().isoformat()
    [line] = [line for line in out.splitlines() if line.startswith(today)]
    assert line.split()[1:] == ["UCONSOLE", "console", "gpt-4.1", "1", "0", "68", "22", "90"]

    code, _, err = await run_bot(tmp_path, "usage", "--days", "0", DATABASE_URL=database)
    assert code == 2 and "--days: must be 1 or more" in err
