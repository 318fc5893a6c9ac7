"""Logging that never carries tokens, keys, signing secrets or what people wrote.

Nothing logs message text on purpose; the filters here are the second line of
defence: one masks anything shaped like a Slack token or an API key, the other
keeps out the libraries' lines that carry request and response bodies (their
DEBUG output, and bolt's note of a request with a bad signature).

`BOT_LOG_FORMAT=json` writes one JSON object per line, for log platforms.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# Slack tokens (xoxe-: rotating tokens' refresh tokens), app tokens, API keys.
SECRET = re.compile(r"(xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|sk-[A-Za-z0-9_-]{8,})")

# The libraries' loggers. Their DEBUG lines carry whole requests and responses (slack_sdk
# logs every Web API body, Socket Mode every frame), so they stay at INFO at most even
# when BOT_LOG_LEVEL=DEBUG; at other levels, at WARNING.
LIBRARIES = ("slack_sdk", "slack_bolt", "bot.slack.bolt", "httpx", "httpcore", "alembic")
ALWAYS_QUIET = ("sqlalchemy", "asyncpg", "aiohttp.access")  # SQL and rows, access lines
# Library lines, at any level, that quote a request's body.
QUOTES_BODIES = (
    "Invalid request signature detected",  # bolt; counted and logged by bot.slack.refusals
    "A global middleware (",
)


def redact(text: str) -> str:
    """`text` with anything shaped like a Slack token or an API key masked."""
    return SECRET.sub("[redacted]", text)


class RedactSecrets(logging.Filter):
    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._clean(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def ours(name: str) -> bool:
    """The bot's own loggers (bolt's, which the bot names, are the library's)."""
    return (name == "bot" or name.startswith("bot.")) and not name.startswith("bot.slack.bolt")


class NoBodies(logging.Filter):
    """Drops library lines that may carry what people wrote: any below INFO, and the
    few at higher levels that quote a request's body."""

    def filter(self, record: logging.LogRecord) -> bool:
        if ours(record.name):
            return True
        if record.levelno < logging.INFO:
            return False
        return not str(record.msg).startswith(QUOTES_BODIES)


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, *secrets: str, style: str = "text") -> None:
    """Log at `level` to standard error, as text lines or (`style="json"`) JSON lines."""
    handler = logging.StreamHandler()
    if style == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(NoBodies())
    handler.addFilter(RedactSecrets(*secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = logging.INFO if level == "DEBUG" else logging.WARNING
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
    for name in ALWAYS_QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
