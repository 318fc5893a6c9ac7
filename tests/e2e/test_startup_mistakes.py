"""Start-up tried as a new user would, with the mistakes new users make: each stops the
start at once with one line that says what to fix, and never shows a key or password."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.main import StartupError
from tests.e2e.conftest import StartBot
from tests.fakes.responses_api import FakeModel
from tests.fakes.slack_api import FakeSlack
from tests.support.network import NetworkGuard
from tests.support.one_run import Finished, run_bot
from tests.support.process import free_port

KEY = "sk-proj-the-operators-own-key-0123456789"


@pytest.fixture
def settings(fake_slack: FakeSlack, fake_model: FakeModel, tmp_path: Path) -> dict[str, str]:
    """Settings that start a bot against the fakes; each test gets one wrong."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
        "OPENAI_API_KEY": KEY,
        "SLACK_API_URL": fake_slack.url,
        "OPENAI_BASE_URL": fake_model.url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        "PORT": "0",
    }


def one_line(run: Finished, code: int = 1) -> str:
    """The run failed with `code` and said exactly one line, holding no secret."""
    assert run.code == code, run.err
    assert len(run.err_lines) == 1, run.err
    assert "Traceback" not in run.err
    for secret in (KEY, "xoxb-test-token", "db-password"):
        assert secret not in run.err + run.out
    return run.err_lines[0]


async def test_every_wrong_setting_is_named_in_one_line(
    settings: dict[str, str], tmp_path: Path
) -> None:
    del settings["OPENAI_API_KEY"], settings["SLACK_BOT_TOKEN"]
    settings |= {"OPENAI_TEMPERATURE": "5", "BOT_STREAM_MODE": "fast", "PORT": "http"}
    line = one_line(await run_bot(settings, tmp_path), code=2)
    assert line.startswith("Setting errors: ")
    assert line.endswith("Set them in the environment or in .env.")
    for named in (
        "OPENAI_API_KEY is not set",
        "OPENAI_TEMPERATURE is invalid",
        "BOT_STREAM_MODE is invalid",
        "PORT is invalid",
        "SLACK_BOT_TOKEN is not set",
    ):
        assert named in line


async def test_a_model_endpoint_nothing_listens_on_stops_the_start(
    settings: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there
    settings["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    line = one_line(await run_bot(settings, tmp_path))
    assert line == (
        f"Cannot start: Cannot reach the model at OPENAI_BASE_URL: 127.0.0.1:{port} "
        "refuses connections."
    )


async def test_a_base_url_without_v1_stops_the_start(
    settings: dict[str, str], fake_model: FakeModel, tmp_path: Path
) -> None:
    settings["OPENAI_BASE_URL"] = fake_model.url.removesuffix("/v1")
    line = one_line(await run_bot(settings, tmp_path))
    host = fake_model.url.split("//")[1].split("/")[0]
    assert line.startswith(f"Cannot start: OPENAI_BASE_URL has no Responses API at {host}")
    assert "does it end with /v1" in line
    assert fake_model.other_requests == [("POST", "/responses")]
    assert fake_model.requests == []  # nothing was asked of the model


async def test_a_refused_key_stops_the_start_without_showing_it(
    settings: dict[str, str], fake_model: FakeModel, tmp_path: Path
) -> None:
    fake_model.accepted_keys = {"sk-proj-another-key"}
    line = one_line(await run_bot(settings, tmp_path))
    host = fake_model.url.split("//")[1].split("/")[0]
    assert line == (
        f"Cannot start: The model's service at {host} refused OPENAI_API_KEY "
        "(HTTP 401, invalid_api_key)."
    )
    [check] = fake_model.checks
    assert check.json == {} and check.headers["Authorization"] == f"Bearer {KEY}"


async def test_a_missing_folder_for_the_sqlite_file_is_named(
    settings: dict[str, str], tmp_path: Path
) -> None:
    settings["DATABASE_URL"] = f"sqlite:///{tmp_path}/data/bot.db"
    line = one_line(await run_bot(settings, tmp_path))
    assert line == (
        "Cannot start: Cannot open the database at DATABASE_URL: the folder "
        f"{tmp_path}/data for the SQLite file does not exist (create it first)."
    )


async def test_an_unsupported_database_is_a_setting_error(
    settings: dict[str, str], tmp_path: Path
) -> None:
    settings["DATABASE_URL"] = "mysql://bot:db-password@db.example.com/bot"
    line = one_line(await run_bot(settings, tmp_path), code=2)
    assert line.startswith(
        "Setting error: DATABASE_URL is invalid: the 'mysql' database is not supported "
        "(use sqlite+aiosqlite:///path/to/bot.db or postgresql+asyncpg://"
    )


async def test_nothing_listening_at_the_database_port_is_named(
    settings: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    settings["DATABASE_URL"] = f"postgresql://bot:db-password@127.0.0.1:{port}/bot"
    line = one_line(await run_bot(settings, tmp_path))
    assert line == (
        "Cannot start: Cannot open the database at DATABASE_URL: nothing accepts connections "
        f"at 127.0.0.1:{port} (is the database server running?)."
    )


# In this process, where lookups of names other than localhost fail as an unknown host's
# would (tests never use the network).


async def test_an_unknown_database_host_is_named(
    start_bot: StartBot, no_internet: NetworkGuard
) -> None:
    with pytest.raises(StartupError) as raised:
        await start_bot(DATABASE_URL="postgresql+asyncpg://bot:db-password@db.invalid/bot")
    no_internet.attempts.clear()
    assert str(raised.value) == (
        "Cannot open the database at DATABASE_URL: the host name db.invalid is not known."
    )


async def test_an_unknown_model_host_stops_the_start(
    start_bot: StartBot, fake_model: FakeModel, no_internet: NetworkGuard
) -> None:
    with pytest.raises(StartupError) as raised:
        await start_bot(OPENAI_BASE_URL="https://models.invalid/v1")
    no_internet.attempts.clear()
    assert str(raised.value) == (
        "Cannot reach the model at OPENAI_BASE_URL: the host name models.invalid is not known."
    )


# The database commands need DATABASE_URL and nothing else.


async def test_migrate_and_usage_need_only_the_database_url(tmp_path: Path) -> None:
    only = {"DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"}
    migrated = await run_bot(only, tmp_path, "migrate")
    assert (migrated.code, migrated.out, migrated.err) == (0, "Database is up to date.\n", "")
    assert (tmp_path / "bot.db").exists()
    usage = await run_bot(only, tmp_path, "usage")
    assert usage.code == 0 and usage.err == ""
    assert "feedback:" in usage.out


async def test_migrate_says_why_the_database_cannot_be_opened(tmp_path: Path) -> None:
    only = {"DATABASE_URL": f"sqlite:///{tmp_path}/data/bot.db"}
    line = one_line(await run_bot(only, tmp_path, "migrate"))
    assert line.startswith("Cannot open the database at DATABASE_URL: the folder")


async def test_the_console_checks_the_model_endpoint_too(
    fake_model: FakeModel, tmp_path: Path
) -> None:
    fake_model.accepted_keys = {"sk-proj-another-key"}
    only = {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": fake_model.url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/console.db",
    }
    line = one_line(await run_bot(only, tmp_path, "console"))
    assert line.endswith("refused OPENAI_API_KEY (HTTP 401, invalid_api_key).")
