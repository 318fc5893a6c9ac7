"""Logging that never carries tokens, keys or signing secrets.

Nothing logs message text on purpose; this filter is the second line of
defence, masking anything shaped like a Slack token or an API key.
"""

from __future__ import annotations

import logging
import re

# Slack tokens (xoxe-: rotating tokens' refresh tokens), app tokens, API keys.
SECRET = re.compile(r"(xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|sk-[A-Za-z0-9_-]{8,})")


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


def configure(level: str, *secrets: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(*secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries' request logs are noise at INFO; they stay available with DEBUG.
    quiet = logging.WARNING if level != "DEBUG" else logging.DEBUG
    for name in ("httpx", "httpcore", "slack_sdk", "slack_bolt", "aiohttp.access", "alembic"):
        logging.getLogger(name).setLevel(quiet)
