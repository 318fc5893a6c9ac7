"""Approve / Deny pressed: the core decides; the asker's choice starts the answer's next
part in the thread; anyone else is told privately it is not theirs."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation import notices
from bot.conversation.approvals import ALREADY, GONE, NOT_YOURS, Approvals
from bot.conversation.queue import TurnQueue
from bot.conversation.turn import Turn
from bot.slack import approval_blocks
from bot.slack.deliveries import Deliveries
from bot.slack.press import Press
from bot.store.approvals import EXPIRED

Accept = Callable[[Turn, dict[str, Any]], Awaitable[bool]]


def listen(
    app: AsyncApp,
    approvals: Approvals,
    *,
    accept: Accept,
    queue: TurnQueue,
    deliveries: Deliveries,
) -> None:
    pattern = re.compile(f"^({approval_blocks.APPROVE}|{approval_blocks.DENY})$")

    @app.action(pattern)
    async def on_approval(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        press = Press.of(body)
        key = approval_blocks.read_key(press.value) if press else None
        if press is None or key is None:
            return
        approve = press.action_id == approval_blocks.APPROVE
        decided = await approvals.decide(key, press.user, approve)
        if decided.outcome == NOT_YOURS:
            await press.tell(client, notices.not_your_approval(decided.asker))
        elif decided.outcome in (EXPIRED, GONE):
            await press.tell(client, notices.APPROVAL_EXPIRED)
        elif decided.outcome == ALREADY:
            await press.tell(client, notices.APPROVAL_ALREADY)
        elif decided.turn is not None:
            turn = decided.turn
            delivery = await deliveries.in_thread(turn)
            async with queue.intake():
                if await accept(turn, deliveries.route()):
                    queue.submit(turn, delivery)
