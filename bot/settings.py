"""Settings from the environment and a `.env` file (the environment wins).

Every name in CONTRACT.md is a field here, spelled as operators set it.
`load_settings()` turns a validation failure into one line that names what to
set, and never echoes a value: tokens and keys must not reach a terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_INSTRUCTIONS = (
    "You are a helpful assistant in a Slack workspace. Each user message starts with "
    "the speaker as a Slack mention such as <@U123>; several people may talk in one "
    "thread. Answer concisely, in Markdown."
)


BUILT_IN_TOOLS = ("web_search", "file_search", "code_interpreter", "image_generation")
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line, with no secret in it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
        env_ignore_empty=True,  # an empty value is the same as an unset one (CONTRACT.md)
    )

    SLACK_BOT_TOKEN: str = ""  # required unless the bot installs through OAuth
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

    # What each request asks of the model (CONTRACT.md): unset, the field is not sent.
    OPENAI_MAX_OUTPUT_TOKENS: int | None = Field(default=None, ge=16)
    OPENAI_TEMPERATURE: float | None = Field(default=None, ge=0.0, le=2.0)
    OPENAI_TOP_P: float | None = Field(default=None, ge=0.0, le=1.0)
    OPENAI_REASONING_EFFORT: ReasoningEffort | None = None
    OPENAI_REASONING_SUMMARY: Literal["auto", "concise", "detailed"] | None = None
    OPENAI_TEXT_VERBOSITY: Literal["low", "medium", "high"] | None = None
    # `text`, `json_object`, or the path of a JSON schema file: read at start, so a
    # wrong one stops the bot with one line. The setting then holds the request field.
    OPENAI_TEXT_FORMAT: str = "text"
    OPENAI_SERVICE_TIER: Literal["auto", "default", "flex", "scale", "priority"] | None = None
    OPENAI_TOOLS: str = ""
    OPENAI_VECTOR_STORE_IDS: str = ""
    OPENAI_MCP_SERVERS: str = ""
    BOT_FUNCTIONS: str = ""
    BOT_MAX_TOOL_ROUNDS: int = Field(default=8, ge=1, le=100)
    BOT_APPROVAL_MINUTES: int = Field(default=15, ge=1, le=7 * 24 * 60)
    BOT_MAX_FILE_MB: float = Field(default=20.0, gt=0.0, le=1000.0)

    # Running it as a service (CONTRACT.md).
    SLACK_CLIENT_ID: str = ""
    SLACK_CLIENT_SECRET: str = ""
    SLACK_REDIRECT_URI: str = ""
    BOT_ADMINS: str = ""
    BOT_ALLOWED_USERS: str = ""
    BOT_ALLOWED_CHANNELS: str = ""
    BOT_USER_DAILY_TOKENS: int | None = Field(default=None, ge=1)
    BOT_WORKSPACE_DAILY_TOKENS: int | None = Field(default=None, ge=1)
    BOT_LOG_FORMAT: Literal["text", "json"] = "text"

    @field_validator("OPENAI_TOOLS")
    @classmethod
    def _known_tools(cls, value: str) -> str:
        unknown = [name for name in names(value) if name not in BUILT_IN_TOOLS]
        if unknown:
            raise ValueError(
                f"unknown tool {unknown[0]!r} (choose from {', '.join(BUILT_IN_TOOLS)})"
            )
        return value

    @field_validator("OPENAI_TEXT_FORMAT")
    @classmethod
    def _text_format(cls, value: str) -> str:
        text_format(value)  # raises with the reason
        return value

    @field_validator("OPENAI_MCP_SERVERS")
    @classmethod
    def _mcp_servers(cls, value: str) -> str:
        mcp_servers(value)
        return value

    @field_validator("BOT_FUNCTIONS")
    @classmethod
    def _function_paths(cls, value: str) -> str:
        for path in names(value):
            module, _, function = path.partition(":")
            if not module or not function:
                raise ValueError(f"{path!r} is not a module:function import path")
        return value

    @field_validator("BOT_ALLOWED_USERS", "BOT_ADMINS")
    @classmethod
    def _user_ids(cls, value: str) -> str:
        return slack_ids(value, USER_ID, "a Slack user id (like U0123ABCD)")

    @field_validator("BOT_ALLOWED_CHANNELS")
    @classmethod
    def _channel_ids(cls, value: str) -> str:
        return slack_ids(value, CHANNEL_ID, "a Slack channel id (like C0123ABCD)")

    @field_validator("SLACK_REDIRECT_URI")
    @classmethod
    def _redirect_is_https(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// when testing)")
        return value

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
        return database_url(value)

    @model_validator(mode="after")
    def _settings_that_go_together(self) -> Settings:
        problems = together(lambda name: str(getattr(self, name)))
        if problems:
            raise ValueError("\n".join(problems))  # told apart again by _describe
        return self

    @property
    def socket_mode(self) -> bool:
        return bool(self.SLACK_APP_TOKEN)

    @property
    def oauth(self) -> bool:
        """Many workspaces, each installed through OAuth, each with its own token."""
        return bool(self.SLACK_CLIENT_ID and self.SLACK_CLIENT_SECRET)


def names(value: str) -> list[str]:
    """A comma-separated setting's items, without blanks."""
    return [item.strip() for item in value.split(",") if item.strip()]


USER_ID = re.compile(r"[UW][A-Z0-9]+")  # W…: Enterprise Grid
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]+")


def slack_ids(value: str, pattern: re.Pattern[str], kind: str) -> str:
    """A list of ids that cannot match anyone (a name, an @mention) is refused at start,
    rather than silently turning everyone away."""
    for item in names(value):
        if not pattern.fullmatch(item):
            raise ValueError(f"{item!r} is not {kind}")
    return value


def text_format(value: str) -> dict[str, Any] | None:
    """`OPENAI_TEXT_FORMAT` as the request's `text.format`; None for plain text."""
    if value == "text":
        return None
    if value == "json_object":
        return {"type": "json_object"}
    path = Path(value).expanduser()
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"no file {value!r} (use text, json_object, or a JSON schema file's path)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read {value!r} as JSON ({error})") from None
    if (
        not isinstance(schema, dict)
        or not isinstance(schema.get("name"), str)
        or not isinstance(schema.get("schema"), dict)
    ):
        raise ValueError(f'{value!r} must hold {{"name": …, "schema": {{…}}, "strict": true}}')
    return {"type": "json_schema", **schema}


def mcp_servers(value: str) -> list[dict[str, Any]]:
    """`OPENAI_MCP_SERVERS` as `mcp` tools: a JSON list of objects with at least
    `server_label` and `server_url`."""
    if not value.strip():
        return []
    try:
        servers = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"is not JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(servers, list):
        raise ValueError("must be a JSON list of objects")
    for server in servers:
        if not isinstance(server, dict):
            raise ValueError("must be a JSON list of objects")
        label, url = server.get("server_label"), server.get("server_url")
        if not isinstance(label, str) or not label:
            raise ValueError("each server needs a server_label")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ValueError(f"server {label!r} needs a server_url starting with https://")
    labels = [server["server_label"] for server in servers]
    if len(set(labels)) != len(labels):
        raise ValueError("each server_label must be different")
    return [{"type": "mcp", **server} for server in servers]


_HINTS = {
    "SLACK_BOT_TOKEN": "the bot token, xoxb-…",
    "OPENAI_API_KEY": "the key sent to the Responses API",
}
DATABASES = "sqlite+aiosqlite:///path/to/bot.db or postgresql+asyncpg://user@host/database"


def database_url(value: str) -> str:
    """`DATABASE_URL` with the async driver the bot uses; ValueError, naming what is wrong
    and never the URL (it may hold a password), for a database the bot cannot use."""
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme in ("postgres", "postgresql"):
        # Platforms hand out plain URLs; the bot needs the async driver.
        value = "postgresql+asyncpg://" + value.split("://", 1)[1]
    elif scheme == "sqlite":
        value = "sqlite+aiosqlite://" + value.split("://", 1)[1]
    elif scheme not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        what = f"the {scheme.split('+')[0]!r} database" if scheme else "not a database URL"
        if scheme.startswith(("postgres", "sqlite")):
            what = f"the driver {scheme.split('+', 1)[-1]!r}"
        raise ValueError(f"{what} is not supported (use {DATABASES})")
    if value.startswith("postgresql+asyncpg://"):
        from bot.store.database import asyncpg_options

        # libpq options (`?sslmode=require`) become asyncpg's when the database is
        # opened; a wrong value stops the start here, with one line.
        asyncpg_options(value)
    return value


def together(value: Callable[[str], str]) -> list[str]:
    """What is wrong between settings that go together; `value(name)` reads one."""
    problems = []
    if "file_search" in names(value("OPENAI_TOOLS")) and not names(
        value("OPENAI_VECTOR_STORE_IDS")
    ):
        problems.append(
            "OPENAI_VECTOR_STORE_IDS is not set (file_search in OPENAI_TOOLS needs the "
            "vector store ids to search)"
        )
    client_id, client_secret = value("SLACK_CLIENT_ID"), value("SLACK_CLIENT_SECRET")
    if bool(client_id) != bool(client_secret):
        missing = "SLACK_CLIENT_SECRET" if client_id else "SLACK_CLIENT_ID"
        problems.append(
            f"{missing} is not set (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together, "
            "for installing in many workspaces)"
        )
    elif not value("SLACK_BOT_TOKEN") and not client_id:
        problems.append(
            "SLACK_BOT_TOKEN is not set (the bot token, xoxb-…; or set SLACK_CLIENT_ID "
            "and SLACK_CLIENT_SECRET to install in many workspaces)"
        )
    if not value("SLACK_APP_TOKEN") and not value("SLACK_SIGNING_SECRET"):
        problems.append(
            "SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
        )
    return problems


class _Together(BaseSettings):
    """The settings `together` reads, as plain text: read when other settings are wrong,
    so that one message names every problem (pydantic skips the model's checks then)."""

    model_config = Settings.model_config

    SLACK_BOT_TOKEN: str = ""
    SLACK_SIGNING_SECRET: str = ""
    SLACK_APP_TOKEN: str = ""
    SLACK_CLIENT_ID: str = ""
    SLACK_CLIENT_SECRET: str = ""
    OPENAI_TOOLS: str = ""
    OPENAI_VECTOR_STORE_IDS: str = ""


class DatabaseSettings(BaseSettings):
    """What the database commands (`migrate`, `usage`, `settings`) need: no Slack or
    model settings."""

    model_config = Settings.model_config

    DATABASE_URL: str = "sqlite+aiosqlite:///bot.db"
    BOT_DATABASE_CONNECTIONS: int = Field(default=10, ge=1, le=200)
    BOT_LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    BOT_LOG_FORMAT: Literal["text", "json"] = "text"

    @field_validator("DATABASE_URL")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return database_url(value)


def _describe_one(error: ErrorDetails) -> str:
    name = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if not name:
        return message  # a check across settings: its message names them
    if error["type"] in ("missing", "string_too_short"):
        hint = _HINTS.get(name)
        return f"{name} is not set ({hint})" if hint else f"{name} is not set"
    return f"{name} is invalid: {message}"


def _describe(error: ValidationError, more: list[str] | None = None) -> str:
    """Every problem in one line: "Setting error: …" or "Setting errors: …; …"."""
    problems = [line for e in error.errors() for line in _describe_one(e).splitlines()]
    problems += [p for p in more or [] if p not in problems]
    if len(problems) == 1:
        return f"Setting error: {problems[0]}. Set it in the environment or in .env."
    return f"Setting errors: {'; '.join(problems)}. Set them in the environment or in .env."


def load_settings(*, console: bool = False, database_only: bool = False) -> Settings:
    """Read and validate the settings, or raise SettingsError with one line naming every
    setting that is missing or wrong (never a value).

    The console talks to no Slack workspace, so it needs no Slack settings; commands
    that only read and write the database (`settings`) need no Slack or OpenAI keys.
    """
    overrides: dict[str, str] = {}
    if console or database_only:
        overrides = {"SLACK_BOT_TOKEN": "unused", "SLACK_SIGNING_SECRET": "unused"}
    if database_only:
        overrides["OPENAI_API_KEY"] = "unused"
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        more: list[str] = []
        if all(e["loc"] for e in error.errors()):
            # A setting was wrong, so pydantic did not look across settings: do it here.
            try:
                plain = _Together(**overrides)
            except ValidationError:
                pass
            else:
                more = together(lambda name: str(getattr(plain, name)))
        raise SettingsError(_describe(error, more)) from None


def load_database_settings() -> DatabaseSettings:
    """The settings the database commands need, or SettingsError with one line."""
    try:
        return DatabaseSettings()
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
