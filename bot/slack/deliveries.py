"""Choose how an answer reaches Slack: the stream mode, the thread, the private fallback."""

from __future__ import annotations

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.delivery import Delivery
from bot.conversation.turn import Turn
from bot.slack import buttons
from bot.slack.assistant import AssistantPanel, Status
from bot.slack.budget import MemoryLedger, SlackBudget
from bot.slack.native_delivery import NativeDelivery
from bot.slack.private_delivery import PrivateDelivery
from bot.slack.thread_writer import ThreadWriter
from bot.slack.update_delivery import UpdateDelivery

MAX_QUESTION_IN_HEADER = 2_500  # a section block holds 3,000


def ask_header(turn: Turn) -> str:
    question = turn.text
    if len(question) > MAX_QUESTION_IN_HEADER:
        question = question[: MAX_QUESTION_IN_HEADER - 1] + "…"
    return f"<@{turn.user_id}> asked: {question}"


class Deliveries:
    def __init__(
        self,
        client: AsyncWebClient,
        session: aiohttp.ClientSession,
        *,
        mode: str,
        interval: float,
        panel: AssistantPanel | None = None,
        budget: SlackBudget | None = None,
    ) -> None:
        self._client = client
        self._session = session
        self._mode = mode
        self._interval = interval
        self._panel = panel
        self._budget = budget or SlackBudget(MemoryLedger())  # shared by every answer

    def in_thread(self, turn: Turn) -> Delivery:
        budget = self._budget.for_answer(turn.team_id, turn.channel_id)
        writer = ThreadWriter(self._client, turn.channel_id, turn.thread_ts, budget=budget)
        panel = self._panel

        async def status() -> Status | None:
            return await panel.begin(turn) if panel is not None else None

        if self._mode == "native":
            return NativeDelivery(
                self._client,
                writer,
                self._interval,
                recipient_user_id=turn.user_id,
                recipient_team_id=turn.team_id or None,
                status=status,
            )
        return UpdateDelivery(
            writer,
            self._interval,
            stop=buttons.stop_block(turn.key, turn.user_id),
            status=status,
        )

    def for_ask(self, turn: Turn, response_url: str) -> Delivery:
        """/ask answers in the channel as a new message, or privately where it may not post."""
        header = ask_header(turn)
        budget = self._budget.for_answer(turn.team_id, turn.channel_id)
        writer = ThreadWriter(self._client, turn.channel_id, None, header=header, budget=budget)
        private = PrivateDelivery(self._session, response_url, header) if response_url else None
        return UpdateDelivery(
            writer,
            self._interval,
            cannot_post=private,
            stop=buttons.stop_block(turn.key, turn.user_id),
        )
