"""Settings from the environment and a `.env` file (the environment wins).

Every name in CONTRACT.md is a field here, spelled as operators set it.
`load_settings()` turns a validation failure into one line that names what to
set, and never echoes a value: tokens and keys must not reach a terminal.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_INSTRUCTIONS = (
    "You are a helpful assistant in a Slack workspace. Each user message starts with "
    "the speaker as a Slack mention such as <@U123>; several people may talk in one "
    "thread. Answer concisely, in Markdown."
)


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line, with no secret in it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    SLACK_BOT_TOKEN: str = Field(min_length=1)
    SLACK_SIGNING_SECRET: str = ""
    SLACK_APP_TOKEN: str = ""
    SLACK_API_URL: str = "https://slack.com/api/"
    OPENAI_API_KEY: str = Field(min_length=1)
    OPENAI_BASE_URL: str = "https://api.openai.com/v1"
    OPENAI_MODEL: str = "gpt-4.1"
    BOT_INSTRUCTIONS: str = DEFAULT_INSTRUCTIONS
    DATABASE_URL: str = "sqlite+aiosqlite:///bot.db"
    PORT: int = Field(default=3000, ge=0, le=65535)  # 0: any free port (tests)
    BOT_STREAM_MODE: Literal["update", "native"] = "update"
    BOT_UPDATE_INTERVAL: float = Field(default=1.0, ge=0.0, le=60.0)
    # Extensions to the contract.
    OPENAI_IDLE_TIMEOUT: float = Field(default=60.0, gt=0.0)
    # How the API keeps a long thread inside the context window: `compaction`
    # (context_management), `truncation` (the older truncation="auto"), or `off`.
    OPENAI_CONTEXT_MANAGEMENT: Literal["compaction", "truncation", "off"] = "compaction"
    OPENAI_COMPACT_THRESHOLD: int = Field(default=200_000, ge=1_000)
    BOT_MAX_QUESTION_CHARS: int = Field(default=20_000, ge=1)
    BOT_MAX_CONCURRENT_ANSWERS: int = Field(default=64, ge=1)
    # PostgreSQL connections each worker keeps, at most (plus one for Stop between
    # workers): answers hold none while they stream.
    BOT_DATABASE_CONNECTIONS: int = Field(default=10, ge=1, le=200)
    # Assistant panel prompts, `title=message;title=message` (at most four); empty: defaults.
    BOT_SUGGESTED_PROMPTS: str = ""
    BOT_LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # `true`: every answer runs in background mode, so it survives a restart and is
    # resumed; `auto`: the same, unless the endpoint refuses it; `false`: never.
    OPENAI_BACKGROUND: Literal["auto", "true", "false"] = "auto"
    # Seconds a worker holds an answer under way without renewing it; after that, any
    # worker takes it over. A crashed worker's answers are resumed that much later.
    BOT_ANSWER_LEASE: float = Field(default=15.0, ge=1.0, le=600.0)
    # Seconds answers under way get to finish on SIGTERM; the rest are left for the next
    # start. Platforms give about 30 s between SIGTERM and SIGKILL.
    # Seconds a final write is tried through Slack's failures (5xx, timeouts, 429s); then
    # it is left, and any worker tries again that much later.
    BOT_FINAL_WRITE_SECONDS: float = Field(default=120.0, ge=1.0, le=3600.0)
    BOT_SHUTDOWN_GRACE: float = Field(default=20.0, ge=0.0, le=3600.0)

    @field_validator("SLACK_API_URL")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("OPENAI_BASE_URL")
    @classmethod
    def _base_url_without_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("SLACK_API_URL", "OPENAI_BASE_URL")
    @classmethod
    def _is_http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith(("postgres://", "postgresql://")):
            # Platforms hand out plain URLs; the bot needs the async driver.
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("postgresql+asyncpg://"):
            from bot.store.database import asyncpg_options

            # libpq options (`?sslmode=require`) become asyncpg's when the database is
            # opened; a wrong value stops the start here, with one line.
            asyncpg_options(value)
            return value
        if value.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        return value

    @model_validator(mode="after")
    def _signing_secret_in_http_mode(self) -> Settings:
        if not self.SLACK_APP_TOKEN and not self.SLACK_SIGNING_SECRET:
            raise ValueError(
                "SLACK_SIGNING_SECRET is required in HTTP mode "
                "(or set SLACK_APP_TOKEN for Socket Mode)"
            )
        return self

    @property
    def socket_mode(self) -> bool:
        return bool(self.SLACK_APP_TOKEN)


_HINTS = {
    "SLACK_BOT_TOKEN": "the bot token, xoxb-…",
    "OPENAI_API_KEY": "the key sent to the Responses API",
}


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"])
    if not name:
        # A model-level check: its message already names the setting.
        return str(first["msg"]).removeprefix("Value error, ")
    if first["type"] in ("missing", "string_too_short"):
        hint = _HINTS.get(name)
        return f"{name} is not set ({hint})" if hint else f"{name} is not set"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{name} is invalid: {message}"


def load_settings(*, console: bool = False) -> Settings:
    """Read and validate the settings, or raise SettingsError with one clear line.

    The console talks to no Slack workspace, so it needs no Slack settings.
    """
    overrides = {"SLACK_BOT_TOKEN": "unused", "SLACK_SIGNING_SECRET": "unused"} if console else {}
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(
            f"Setting error: {_describe(error)}. Set it in the environment or in .env."
        ) from None
