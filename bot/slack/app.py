"""The bolt app: verify, ack at once, turn payloads into Turns, queue them.

Listeners only classify and enqueue; the answer runs later in the TurnQueue,
so Slack's 3-second acknowledgement never waits on the model.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation import notices
from bot.conversation.queue import TurnQueue
from bot.slack.deliveries import Deliveries
from bot.slack.payloads import turn_from_command, turn_from_event

log = logging.getLogger(__name__)


def build_app(
    client: AsyncWebClient,
    *,
    signing_secret: str,
    socket_mode: bool,
    queue: TurnQueue,
    deliveries: Deliveries,
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        # Socket Mode frames come over an authenticated socket, not signed HTTP.
        request_verification_enabled=not socket_mode,
        logger=logging.getLogger("bot.slack.bolt"),
    )

    async def on_turn_event(body: dict[str, Any], context: AsyncBoltContext) -> None:
        turn = turn_from_event(body, context.bot_user_id)
        if turn is not None:
            queue.submit(turn, deliveries.in_thread(turn))

    app.event("app_mention")(on_turn_event)
    app.event("message")(on_turn_event)

    @app.command("/ask")
    async def on_ask(ack: AsyncAck, command: dict[str, Any]) -> None:
        turn = turn_from_command(command)
        if not turn.text:
            await ack(text=notices.ASK_USAGE, response_type="ephemeral")  # the asker alone
            return
        await ack()
        queue.submit(turn, deliveries.for_ask(turn, str(command.get("response_url") or "")))

    # Everything else is acknowledged, so Slack does not retry it.
    async def ignore(ack: AsyncAck) -> None:
        await ack()

    app.event(re.compile(".*"))(ignore)
    app.action(re.compile(".*"))(ignore)
    app.shortcut(re.compile(".*"))(ignore)
    app.view(re.compile(".*"))(ignore)
    return app
