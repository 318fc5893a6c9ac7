"""A button press, read defensively from a `block_actions` payload."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.calls import SIDE_CALL_ERRORS

log = logging.getLogger(__name__)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Press:
    action_id: str
    value: str
    user: str
    team: str
    channel: str
    message_ts: str
    thread_ts: str
    text: str
    blocks: list[dict[str, Any]]

    @classmethod
    def of(cls, body: dict[str, Any]) -> Press | None:
        actions = body.get("actions")
        action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
        message = _dict(body.get("message"))
        container = _dict(body.get("container"))
        user = _str(_dict(body.get("user")).get("id"))
        channel = _str(_dict(body.get("channel")).get("id")) or _str(container.get("channel_id"))
        message_ts = _str(container.get("message_ts")) or _str(message.get("ts"))
        if not user or not channel or not message_ts:
            return None
        blocks = message.get("blocks")
        return cls(
            action_id=_str(action.get("action_id")),
            value=_str(action.get("value")),
            user=user,
            team=_str(_dict(body.get("team")).get("id"))
            or _str(_dict(body.get("user")).get("team_id")),
            channel=channel,
            message_ts=message_ts,
            thread_ts=_str(container.get("thread_ts")) or _str(message.get("thread_ts")),
            text=_str(message.get("text")),
            blocks=[b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else [],
        )

    async def tell(self, client: AsyncWebClient, text: str) -> None:
        """A reply only the presser sees, in the thread of the message."""
        try:
            await client.chat_postEphemeral(
                channel=self.channel, user=self.user, text=text, thread_ts=self.thread_ts or None
            )
        except SIDE_CALL_ERRORS as error:
            log.info("could not answer a button press (%s)", type(error).__name__)
