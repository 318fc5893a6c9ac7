"""Settings: every contract name, defaults, and one clear line when something is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

CONTRACT_NAMES = [
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "BOT_INSTRUCTIONS", "DATABASE_URL",
    "PORT", "BOT_STREAM_MODE", "BOT_UPDATE_INTERVAL",
    "OPENAI_MAX_OUTPUT_TOKENS", "OPENAI_TEMPERATURE", "OPENAI_TOP_P", "OPENAI_REASONING_EFFORT",
    "OPENAI_REASONING_SUMMARY", "OPENAI_TEXT_VERBOSITY", "OPENAI_TEXT_FORMAT",
    "OPENAI_SERVICE_TIER", "OPENAI_BACKGROUND", "OPENAI_TOOLS", "OPENAI_VECTOR_STORE_IDS",
    "OPENAI_MCP_SERVERS", "BOT_FUNCTIONS", "BOT_MAX_TOOL_ROUNDS", "BOT_MAX_FILE_MB",
    "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_REDIRECT_URI", "BOT_ADMINS",
    "BOT_ALLOWED_USERS", "BOT_ALLOWED_CHANNELS", "BOT_USER_DAILY_TOKENS",
    "BOT_WORKSPACE_DAILY_TOKENS", "BOT_LOG_FORMAT",
]  # fmt: skip

REQUIRED = {
    "SLACK_BOT_TOKEN": "xoxb-secret-bot-token",
    "SLACK_SIGNING_SECRET": "signing-secret-value",
    "OPENAI_API_KEY": "sk-secret-api-key-value",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in CONTRACT_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_defaults_follow_the_contract(env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.SLACK_API_URL == "https://slack.com/api/"
    assert settings.OPENAI_BASE_URL == "https://api.openai.com/v1"
    assert settings.OPENAI_MODEL == "gpt-4.1"
    assert settings.DATABASE_URL == "sqlite+aiosqlite:///bot.db"
    assert settings.PORT == 3000
    assert settings.BOT_STREAM_MODE == "update"
    assert settings.BOT_UPDATE_INTERVAL == 1.0
    assert settings.BOT_INSTRUCTIONS
    assert not settings.socket_mode


def test_a_proxy_base_url_and_plain_database_url_are_normalised(env: pytest.MonkeyPatch) -> None:
    env.setenv("OPENAI_BASE_URL", "https://api.acedata.cloud/openai/")
    env.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    env.setenv("DATABASE_URL", "postgresql://bot@db/bot")
    settings = load_settings()
    assert settings.OPENAI_BASE_URL == "https://api.acedata.cloud/openai"
    assert settings.SLACK_API_URL == "http://127.0.0.1:9/api/"
    assert settings.DATABASE_URL == "postgresql+asyncpg://bot@db/bot"


def test_a_platform_postgres_url_with_sslmode_is_accepted(env: pytest.MonkeyPatch) -> None:
    from bot.store.database import asyncpg_options

    env.setenv("DATABASE_URL", "postgres://u@h/db?sslmode=require")
    settings = load_settings()
    assert settings.DATABASE_URL == "postgresql+asyncpg://u@h/db?sslmode=require"
    assert asyncpg_options(settings.DATABASE_URL).connect_args == {"ssl": "require"}


def test_a_wrong_sslmode_is_one_line_without_the_password(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", "postgres://u:db-password@h/db?sslmode=sometimes")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).startswith("Setting error: DATABASE_URL is invalid: sslmode must")
    assert "db-password" not in str(raised.value)


def test_dotenv_is_read_and_the_environment_wins(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENAI_MODEL=from-dotenv\nBOT_STREAM_MODE=native\n")
    env.setenv("OPENAI_MODEL", "from-environment")
    settings = load_settings()
    assert settings.OPENAI_MODEL == "from-environment"
    assert settings.BOT_STREAM_MODE == "native"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SLACK_BOT_TOKEN", None, "SLACK_BOT_TOKEN is not set"),
        ("OPENAI_API_KEY", None, "OPENAI_API_KEY is not set"),
        ("SLACK_SIGNING_SECRET", None, "SLACK_SIGNING_SECRET is required in HTTP mode"),
        ("BOT_STREAM_MODE", "fast", "BOT_STREAM_MODE is invalid"),
        ("PORT", "http", "PORT is invalid"),
        ("BOT_UPDATE_INTERVAL", "-1", "BOT_UPDATE_INTERVAL is invalid"),
        ("OPENAI_BASE_URL", "api.openai.com", "OPENAI_BASE_URL is invalid"),
        ("OPENAI_TEMPERATURE", "3", "OPENAI_TEMPERATURE is invalid"),
        ("OPENAI_TOP_P", "1.5", "OPENAI_TOP_P is invalid"),
        ("OPENAI_MAX_OUTPUT_TOKENS", "many", "OPENAI_MAX_OUTPUT_TOKENS is invalid"),
        ("OPENAI_REASONING_EFFORT", "max", "OPENAI_REASONING_EFFORT is invalid"),
        ("OPENAI_REASONING_SUMMARY", "short", "OPENAI_REASONING_SUMMARY is invalid"),
        ("OPENAI_TEXT_VERBOSITY", "loud", "OPENAI_TEXT_VERBOSITY is invalid"),
        ("OPENAI_SERVICE_TIER", "gold", "OPENAI_SERVICE_TIER is invalid"),
        ("OPENAI_TEXT_FORMAT", "schema.json", "OPENAI_TEXT_FORMAT is invalid: no file"),
        ("OPENAI_TOOLS", "web_search,browser", "OPENAI_TOOLS is invalid: unknown tool 'browser'"),
        ("OPENAI_TOOLS", "file_search", "OPENAI_VECTOR_STORE_IDS is not set"),
        ("OPENAI_MCP_SERVERS", "[{", "OPENAI_MCP_SERVERS is invalid: is not JSON"),
        ("OPENAI_MCP_SERVERS", '[{"server_label": "d"}]', "server 'd' needs a server_url"),
        ("BOT_FUNCTIONS", "tools.clock", "BOT_FUNCTIONS is invalid"),
        ("BOT_MAX_TOOL_ROUNDS", "0", "BOT_MAX_TOOL_ROUNDS is invalid"),
        ("BOT_APPROVAL_MINUTES", "0", "BOT_APPROVAL_MINUTES is invalid"),
        ("BOT_APPROVAL_MINUTES", "soon", "BOT_APPROVAL_MINUTES is invalid"),
        ("BOT_MAX_FILE_MB", "0", "BOT_MAX_FILE_MB is invalid"),
        ("SLACK_CLIENT_ID", "123.456", "SLACK_CLIENT_SECRET is not set"),
        ("BOT_USER_DAILY_TOKENS", "-5", "BOT_USER_DAILY_TOKENS is invalid"),
        ("BOT_LOG_FORMAT", "xml", "BOT_LOG_FORMAT is invalid"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it(
    env: pytest.MonkeyPatch, name: str, value: str | None, expected: str
) -> None:
    if value is None:
        env.delenv(name)
    else:
        env.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message
    assert not any(secret in message for secret in REQUIRED.values())


def test_an_empty_value_is_the_same_as_an_unset_one(env: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "OPENAI_TEMPERATURE", "OPENAI_TOOLS", "BOT_STREAM_MODE"):
        env.setenv(name, "")
    settings = load_settings()
    assert settings.PORT == 3000
    assert settings.OPENAI_TEMPERATURE is None
    assert settings.BOT_STREAM_MODE == "update"


def test_a_json_schema_file_becomes_the_text_format(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bot.settings import text_format

    schema = '{"name": "answer", "schema": {"type": "object"}, "strict": true}'
    (tmp_path / "answer.json").write_text(schema)
    env.setenv("OPENAI_TEXT_FORMAT", "answer.json")
    settings = load_settings()
    assert text_format(settings.OPENAI_TEXT_FORMAT) == {
        "type": "json_schema",
        "name": "answer",
        "schema": {"type": "object"},
        "strict": True,
    }
    (tmp_path / "list.json").write_text("[1, 2]")
    env.setenv("OPENAI_TEXT_FORMAT", "list.json")
    with pytest.raises(SettingsError, match="must hold"):
        load_settings()


def test_oauth_needs_no_bot_token(env: pytest.MonkeyPatch) -> None:
    env.delenv("SLACK_BOT_TOKEN")
    env.setenv("SLACK_CLIENT_ID", "123.456")
    env.setenv("SLACK_CLIENT_SECRET", "client-secret-value")
    assert load_settings().oauth


def test_socket_mode_needs_no_signing_secret(env: pytest.MonkeyPatch) -> None:
    env.delenv("SLACK_SIGNING_SECRET")
    env.setenv("SLACK_APP_TOKEN", "xapp-1-socket")
    assert load_settings().socket_mode


def test_python_m_bot_without_settings_exits_with_one_line(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in CONTRACT_NAMES}
    environment["OPENAI_API_KEY"] = REQUIRED["OPENAI_API_KEY"]
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SLACK_BOT_TOKEN is not set" in lines[0]
    assert "Traceback" not in result.stderr and REQUIRED["OPENAI_API_KEY"] not in result.stderr


def test_every_missing_or_wrong_setting_is_named_in_one_line(env: pytest.MonkeyPatch) -> None:
    env.delenv("SLACK_BOT_TOKEN")
    env.delenv("SLACK_SIGNING_SECRET")
    env.setenv("OPENAI_TEMPERATURE", "3")
    env.setenv("OPENAI_TOOLS", "file_search")
    env.setenv("DATABASE_URL", "mysql://u:db-password@h/db")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("Setting errors: ")
    assert message.endswith(". Set them in the environment or in .env.")
    for named in (
        "DATABASE_URL is invalid: the 'mysql' database is not supported",
        "OPENAI_TEMPERATURE is invalid",
        "OPENAI_VECTOR_STORE_IDS is not set",
        "SLACK_BOT_TOKEN is not set",
        "SLACK_SIGNING_SECRET is required in HTTP mode",
    ):
        assert named in message
    assert "\n" not in message and "db-password" not in message
    assert not any(secret in message for secret in REQUIRED.values())
