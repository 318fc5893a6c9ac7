"""End-to-end fixtures: the bot between a fake Slack and a fake Responses API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.settings import Settings
from tests.e2e.harness import BotHandle, SlackSender, SocketSender
from tests.fakes.responses_api import FakeModel
from tests.fakes.slack_api import FakeSlack
from tests.support.process import BotProcess

StartBot = Callable[..., Awaitable[BotHandle]]


@pytest.fixture
def signing_secret() -> str:
    """The signing secret the bot verifies and `slack` signs with."""
    return "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def bot_settings(
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    signing_secret: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Settings]:
    """Builds Settings for the fakes; keyword arguments override. No env, no .env."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": signing_secret,
            "OPENAI_API_KEY": "sk-test-key",
            "SLACK_API_URL": fake_slack.url,
            "OPENAI_BASE_URL": fake_model.url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            "PORT": 0,
            "BOT_UPDATE_INTERVAL": 0.2,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return build


@pytest.fixture
async def start_bot(bot_settings: Callable[..., Settings]) -> AsyncIterator[StartBot]:
    """`await start_bot(**setting_overrides)` starts a bot; all are stopped at teardown.

    Bots of one test share the database file, so a second bot can test a restart.
    """
    from bot.main import Bot  # imported late: collection must not need the whole bot

    started: list[BotHandle] = []

    async def start(**overrides: Any) -> BotHandle:
        settings = bot_settings(**overrides)
        handle = BotHandle(await Bot.start(settings, host="127.0.0.1"), settings)
        started.append(handle)
        return handle

    yield start
    for handle in reversed(started):
        await handle.stop()


@pytest.fixture
async def bot(start_bot: StartBot) -> BotHandle:
    """A bot with the default test settings."""
    return await start_bot()


@pytest.fixture
async def slack(signing_secret: str, fake_slack: FakeSlack) -> AsyncIterator[SlackSender]:
    """Sends Slack-signed requests to a bot's `/slack/events`."""
    async with aiohttp.ClientSession() as session:
        yield SlackSender(session, signing_secret, fake_slack)


@pytest.fixture
def socket(fake_slack: FakeSlack) -> SocketSender:
    """Pushes Socket Mode envelopes to a bot connected to `fake_slack`, and waits for acks."""
    return SocketSender(fake_slack)


StartProcess = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def bot_process(
    fake_slack: FakeSlack, fake_model: FakeModel, signing_secret: str, tmp_path: Path
) -> AsyncIterator[StartProcess]:
    """`await bot_process(**overrides)` starts `python -m bot`; all share one database."""
    started: list[BotProcess] = []

    async def start(**overrides: Any) -> BotProcess:
        settings = {
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": signing_secret,
            "OPENAI_API_KEY": "sk-test-key",
            "SLACK_API_URL": fake_slack.url,
            "OPENAI_BASE_URL": fake_model.url,
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
            "BOT_UPDATE_INTERVAL": "0.2",
            **overrides,
        }
        process = BotProcess(settings, tmp_path)
        started.append(process)
        await process.start()
        return process

    yield start
    for process in started:
        await process.close()
