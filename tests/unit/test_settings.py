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
