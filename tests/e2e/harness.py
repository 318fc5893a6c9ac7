"""The e2e harness: a handle on a running bot and a client that signs like Slack."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from bot.settings import Settings

_event_ids = itertools.count(1)
_tokens = itertools.count(1)


class HasPort(Protocol):
    @property
    def port(self) -> int: ...


class BotHandle:
    """A bot started by `start_bot`; `stop()` may be called more than once."""

    def __init__(self, bot: Any, settings: Settings) -> None:
        self.bot = bot
        self.settings = settings
        self.stopped = False

    @property
    def port(self) -> int:
        """The port the bot listens on."""
        return int(self.bot.port)

    @property
    def url(self) -> str:
        """The bot's base URL, e.g. `http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self.port}"

    async def idle(self) -> None:
        """Return once no answer is queued or running."""
        await self.bot.idle()

    async def stop(self) -> None:
        """Stop the bot (once)."""
        if not self.stopped:
            self.stopped = True
            await self.bot.stop()


@dataclass
class SlackReply:
    """What the bot answered to one request from "Slack"."""

    status: int
    text: str
    headers: dict[str, str]
    elapsed: float  # seconds from sending to the full answer

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text) if self.text else None
        except ValueError:
            return None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's `X-Slack-Signature`: v0= + HMAC-SHA256(secret, "v0:{ts}:{body}")."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackSender:
    """Sends signed Events API, slash command and interactivity requests to a bot."""

    def __init__(self, session: aiohttp.ClientSession, secret: str, fake_slack: Any) -> None:
        self.session = session
        self.secret = secret
        self.fake_slack = fake_slack

    async def raw(
        self,
        bot: HasPort,
        body: bytes | str,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        sign_request: bool = True,
        secret: str | None = None,
        timestamp: int | str | None = None,
        path: str = "/slack/events",
    ) -> SlackReply:
        """POST `body` as is; signed unless `sign_request=False`. `headers` override."""
        data = body.encode() if isinstance(body, str) else body
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        sent = {"Content-Type": content_type}
        if sign_request:
            sent["X-Slack-Request-Timestamp"] = stamp
            sent["X-Slack-Signature"] = sign(secret or self.secret, stamp, data)
        sent.update(headers or {})
        started = time.monotonic()
        async with self.session.post(
            f"http://127.0.0.1:{bot.port}{path}", data=data, headers=sent
        ) as response:
            text = await response.text()
            return SlackReply(
                response.status, text, dict(response.headers), time.monotonic() - started
            )

    async def event(
        self,
        bot: HasPort,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        team_id: str = "T1",
    ) -> SlackReply:
        """Deliver an event in an `event_callback` envelope (a retry when `retry_num` is set)."""
        envelope = {
            "token": "verification-token",
            "team_id": team_id,
            "context_team_id": team_id,
            "api_app_id": "A1",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or new_event_id(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": "UBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return await self.raw(bot, json.dumps(envelope), headers=headers)

    async def url_verification(self, bot: HasPort, challenge: str = "challenge-1") -> SlackReply:
        """Slack's `url_verification` handshake."""
        body = {"token": "verification-token", "challenge": challenge, "type": "url_verification"}
        return await self.raw(bot, json.dumps(body))

    async def command(
        self,
        bot: HasPort,
        text: str,
        *,
        command: str = "/ask",
        user_id: str = "U1",
        channel_id: str = "C1",
        team_id: str = "T1",
        response_url: str | None = None,
        trigger_id: str | None = None,
    ) -> SlackReply:
        """A slash command, form-encoded as Slack sends it."""
        if response_url is None:
            response_url = self.fake_slack.response_url(f"cmd{next(_tokens)}")
        form = {
            "token": "verification-token",
            "team_id": team_id,
            "team_domain": "test",
            "channel_id": channel_id,
            "channel_name": "general" if channel_id.startswith("C") else "directmessage",
            "user_id": user_id,
            "user_name": f"user-{user_id.lower()}",
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or f"{next(_tokens)}.1.trigger",
        }
        return await self.raw(
            bot,
            urllib.parse.urlencode(form),
            content_type="application/x-www-form-urlencoded",
        )

    async def action(self, bot: HasPort, payload: dict[str, Any]) -> SlackReply:
        """An interactivity payload, form-encoded as `payload=<json>`."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.raw(bot, body, content_type="application/x-www-form-urlencoded")


def new_event_id() -> str:
    """A fresh `event_id` like Slack's `Ev...`."""
    return f"Ev{next(_event_ids):010d}"
