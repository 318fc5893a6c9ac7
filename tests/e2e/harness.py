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
        envelope = event_callback(event, event_id=event_id, team_id=team_id)
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
        form = command_fields(
            text,
            command=command,
            user_id=user_id,
            channel_id=channel_id,
            team_id=team_id,
            response_url=response_url,
            trigger_id=trigger_id,
        )
        return await self.raw(
            bot,
            urllib.parse.urlencode(form),
            content_type="application/x-www-form-urlencoded",
        )

    async def action(self, bot: HasPort, payload: dict[str, Any]) -> SlackReply:
        """An interactivity payload, form-encoded as `payload=<json>`."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.raw(bot, body, content_type="application/x-www-form-urlencoded")


@dataclass
class SocketAck:
    """What the app sent back over Socket Mode for one envelope."""

    envelope_id: str
    frame: dict[str, Any]  # {"envelope_id": ..., "payload"?: ...}
    elapsed: float  # seconds from pushing the envelope to its acknowledgement

    @property
    def payload(self) -> Any:
        """The response payload the ack carries, or None."""
        return self.frame.get("payload")


class SocketSender:
    """Pushes Socket Mode envelopes through FakeSlack's WebSocket and waits for the ack."""

    def __init__(self, fake_slack: Any) -> None:
        self.fake_slack = fake_slack

    async def envelope(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
        retry_reason: str = "",
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline, not a cancel scope
    ) -> SocketAck:
        """Push one envelope of `kind` and return the app's acknowledgement of it."""
        envelope_id = envelope_id or f"env-{next(_tokens)}"
        frame: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":  # Slack sends these two with every event
            frame["retry_attempt"] = retry_attempt or 0
            frame["retry_reason"] = retry_reason
        acked = len(self.fake_slack.socket_acks_of(envelope_id))
        await self.fake_slack.socket_send(frame)
        started = time.monotonic()
        await self.fake_slack.wait_for(
            lambda: len(self.fake_slack.socket_acks_of(envelope_id)) > acked,
            timeout=timeout,
            what=f"the ack of {kind} envelope {envelope_id}",
        )
        ack = self.fake_slack.socket_acks_of(envelope_id)[acked]
        return SocketAck(envelope_id, ack, time.monotonic() - started)

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int | None = None,
        retry_reason: str = "",
        team_id: str = "T1",
    ) -> SocketAck:
        """An event in an `event_callback`, in an `events_api` envelope."""
        body = event_callback(event, event_id=event_id, team_id=team_id)
        return await self.envelope(
            "events_api", body, retry_attempt=retry_attempt, retry_reason=retry_reason
        )

    async def command(self, text: str, *, command: str = "/ask", **fields: Any) -> SocketAck:
        """A slash command in a `slash_commands` envelope (it accepts a response payload)."""
        if fields.get("response_url") is None:
            fields["response_url"] = self.fake_slack.response_url(f"cmd{next(_tokens)}")
        body = command_fields(text, command=command, **fields)
        return await self.envelope("slash_commands", body, accepts_response_payload=True)

    async def action(self, payload: dict[str, Any]) -> SocketAck:
        """An interactivity payload in an `interactive` envelope."""
        return await self.envelope("interactive", payload)


def event_callback(
    event: dict[str, Any], *, event_id: str | None = None, team_id: str = "T1"
) -> dict[str, Any]:
    """The `event_callback` body Slack wraps an event in (over HTTP and Socket Mode alike)."""
    return {
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


def command_fields(
    text: str,
    *,
    command: str = "/ask",
    user_id: str = "U1",
    channel_id: str = "C1",
    team_id: str = "T1",
    response_url: str,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """A slash command's fields as Slack sends them (form-encoded over HTTP)."""
    return {
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


def new_event_id() -> str:
    """A fresh `event_id` like Slack's `Ev...`."""
    return f"Ev{next(_event_ids):010d}"
