"""Choose how an answer reaches Slack: the stream mode, the thread, the private fallback."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bot.conversation.delivery import Delivery
from bot.conversation.turn import Turn
from bot.slack import buttons
from bot.slack.assistant import AssistantPanel, Status
from bot.slack.budget import MemoryLedger, SlackBudget
from bot.slack.calls import FINAL_WRITES, Persistence
from bot.slack.native_delivery import NativeDelivery
from bot.slack.private_delivery import PrivateDelivery
from bot.slack.thread_writer import ThreadWriter
from bot.slack.update_delivery import UpdateDelivery
from bot.slack.workspaces import NotInstalled, Workspaces

log = logging.getLogger(__name__)

MAX_QUESTION_IN_HEADER = 2_500  # a section block holds 3,000


def ask_header(turn: Turn) -> str:
    question = turn.text
    if len(question) > MAX_QUESTION_IN_HEADER:
        question = question[: MAX_QUESTION_IN_HEADER - 1] + "…"
    return f"<@{turn.user_id}> asked: {question}"


class Deliveries:
    """Each answer is delivered with its workspace's client (`Workspaces.client_for`)."""

    def __init__(
        self,
        workspaces: Workspaces,
        session: aiohttp.ClientSession,
        *,
        mode: str,
        interval: float,
        panel: AssistantPanel | None = None,
        final_write: Persistence = FINAL_WRITES,
        budget: SlackBudget | None = None,
    ) -> None:
        self._workspaces = workspaces
        self._session = session
        self._mode = mode
        self._interval = interval
        self._panel = panel
        self._final_write = final_write  # how long a final write is tried
        self._budget = budget or SlackBudget(MemoryLedger())  # shared by every answer

    async def in_thread(
        self,
        turn: Turn,
        ts: str | None = None,
        mode: str | None = None,
        *,
        enterprise_id: str | None = None,
    ) -> Delivery:
        """The answer in the turn's thread; with `ts`, finishing a message already there.
        NotInstalled when the workspace has no installation."""
        client = await self._workspaces.client_for(turn.team_id, enterprise_id)
        writer = ThreadWriter(
            client,
            turn.channel_id,
            turn.thread_ts,
            key=turn.key,
            after=turn.message_ts,
            persistence=self._final_write,
            budget=self._budget.for_answer(turn.team_id, turn.channel_id),
            asker=turn.user_id,
        )
        panel = self._panel

        async def status() -> Status | None:
            return await panel.begin(turn, client) if panel is not None else None

        stop = buttons.stop_block(turn.key, turn.user_id)
        if (mode or self._mode) == "native":
            return NativeDelivery(
                client,
                writer,
                self._interval,
                recipient_user_id=turn.user_id,
                recipient_team_id=turn.team_id or None,
                stop=stop,
                status=status,
                ts=ts,
            )
        return UpdateDelivery(writer, self._interval, stop=stop, status=status, ts=ts)

    async def for_ask(
        self,
        turn: Turn,
        response_url: str,
        ts: str | None = None,
        *,
        enterprise_id: str | None = None,
    ) -> Delivery:
        """/ask answers in the channel as a new message, or privately where it may not post."""
        header = ask_header(turn)
        client = await self._workspaces.client_for(turn.team_id, enterprise_id)
        writer = ThreadWriter(
            client,
            turn.channel_id,
            None,
            header=header,
            key=turn.key,
            persistence=self._final_write,
            budget=self._budget.for_answer(turn.team_id, turn.channel_id),
            asker=turn.user_id,
        )
        private = self._private(turn, response_url)
        return UpdateDelivery(
            writer,
            self._interval,
            cannot_post=private,
            stop=buttons.stop_block(turn.key, turn.user_id),
            ts=ts,
        )

    def _private(self, turn: Turn, response_url: str) -> PrivateDelivery | None:
        if not response_url:
            return None
        return PrivateDelivery(self._session, response_url, ask_header(turn))

    def route(
        self, response_url: str | None = None, *, enterprise_id: str | None = None
    ) -> dict[str, Any]:
        """How a turn's answer is delivered, as kept with the turn: in its thread, or as
        /ask's answer (with the command's response_url for the private fallback); and
        the Enterprise Grid org it came through, to find its workspace's token again."""
        org = {"enterprise_id": enterprise_id} if enterprise_id else {}
        if response_url is None:
            return {"via": "thread", "mode": self._mode, **org}
        return {"via": "ask", "response_url": response_url, **org}

    async def restore(
        self, turn: Turn, route: dict[str, Any], place: dict[str, Any]
    ) -> Delivery | None:
        """The delivery of an answer another process began, finishing the same message;
        None where it cannot go (the workspace uninstalled the app, say)."""
        ts = place.get("ts") if isinstance(place.get("ts"), str) else None
        org = route.get("enterprise_id")
        enterprise_id = org if isinstance(org, str) and org else None
        try:
            if route.get("via") == "thread":
                mode = route.get("mode")
                return await self.in_thread(
                    turn, ts, mode if isinstance(mode, str) else None, enterprise_id=enterprise_id
                )
            if route.get("via") == "ask":
                response_url = str(route.get("response_url") or "")
                if place.get("private"):
                    return self._private(turn, response_url)
                return await self.for_ask(turn, response_url, ts, enterprise_id=enterprise_id)
        except NotInstalled:
            log.info("an answer's workspace no longer has the app installed")
        return None  # e.g. the console's: no one to deliver to
