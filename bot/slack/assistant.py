"""Slack's Assistant panel (the app's split view): prompts, titles, status, context;
and the agent experience's DM (`agent_view`), where only the prompts apply.

bolt's AsyncAssistant is not used: it takes over every threaded DM message,
while here a threaded DM is an ordinary conversation that the same turn flow
answers; only the panel's own events are handled here.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.turn import Turn
from bot.slack.calls import SIDE_CALL_ERRORS
from bot.store import Store

log = logging.getLogger(__name__)

STATUS_THINKING = "is thinking…"
TITLE_LIMIT = 80
GREETING = "Hi! What can I help you with?"
DEFAULT_PROMPTS = (
    ("Summarise a topic", "Give me a short, plain-language summary of "),
    ("Draft a message", "Help me write a friendly message to my team about "),
    ("Explain some code", "Explain what this code does, step by step:\n"),
    ("Brainstorm", "Give me ten ideas for "),
)


def title_of(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= TITLE_LIMIT else line[: TITLE_LIMIT - 1] + "…"


def read_prompts(setting: str) -> tuple[tuple[str, str], ...]:
    """`title=message;title=message` → pairs; empty or unreadable → the defaults."""
    prompts = []
    for item in setting.split(";"):
        title, sep, message = item.partition("=")
        if sep and title.strip() and message.strip():
            prompts.append((title.strip(), message.strip()))
    return tuple(prompts[:4]) or DEFAULT_PROMPTS


class Status:
    """The status line under an Assistant thread ("Answers is thinking…")."""

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self.shown = ""

    async def show(self, status: str) -> None:
        if status == self.shown:
            return
        self.shown = status  # tried once: a failing status line is not retried per delta
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=self._channel, thread_ts=self._thread_ts, status=status
            )
        except SIDE_CALL_ERRORS as error:  # a status is a nicety; the answer goes on
            log.info("could not set the assistant status (%s)", type(error).__name__)

    async def clear(self) -> None:
        await self.show("")


class AssistantPanel:
    """Each call goes out with the client of the workspace it is for, handed in."""

    def __init__(self, store: Store, prompts: tuple[tuple[str, str], ...]) -> None:
        self._store = store
        self._prompts = prompts

    async def thread_started(
        self, team_id: str, event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        thread = event.get("assistant_thread")
        if not isinstance(thread, dict):
            return
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if not isinstance(channel, str) or not isinstance(thread_ts, str):
            return
        context = thread.get("context")
        viewing = context.get("channel_id") if isinstance(context, dict) else None
        await self._store.assistant_thread_started(
            team_id, channel, thread_ts, viewing if isinstance(viewing, str) else None
        )
        try:
            await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=GREETING)
            await client.assistant_threads_setSuggestedPrompts(
                channel_id=channel,
                thread_ts=thread_ts,
                prompts=[{"title": t, "message": m} for t, m in self._prompts],
            )
        except SIDE_CALL_ERRORS as error:
            log.warning("could not greet a new assistant thread (%s)", type(error).__name__)

    async def messages_opened(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        """Slack's agent experience (`agent_view`): someone opened their DM with the bot
        (`app_home_opened`, tab "messages"). Its prompts are set for the DM as a whole:
        with a `thread_ts`, Slack drops the call without a word for an agent app."""
        channel = event.get("channel")
        if not isinstance(channel, str) or not channel.startswith("D"):
            return
        try:
            await client.assistant_threads_setSuggestedPrompts(
                channel_id=channel,
                prompts=[{"title": t, "message": m} for t, m in self._prompts],
            )
        except SIDE_CALL_ERRORS as error:
            log.info("could not suggest prompts (%s)", type(error).__name__)

    async def context_changed(self, team_id: str, event: dict[str, Any]) -> None:
        thread = event.get("assistant_thread")
        if not isinstance(thread, dict):
            return
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        context = thread.get("context")
        viewing = context.get("channel_id") if isinstance(context, dict) else None
        if isinstance(channel, str) and isinstance(thread_ts, str):
            await self._store.assistant_viewing(
                team_id, channel, thread_ts, viewing if isinstance(viewing, str) else None
            )

    async def begin(self, turn: Turn, client: AsyncWebClient) -> Status | None:
        """For a turn in an Assistant thread: title it (once) and return its status line."""
        if not turn.channel_id.startswith("D"):
            return None
        found = await self._store.assistant_thread(*turn.thread)
        if found is None:
            return None
        if not found[1]:
            try:
                await client.assistant_threads_setTitle(
                    channel_id=turn.channel_id, thread_ts=turn.thread_ts, title=title_of(turn.text)
                )
                await self._store.assistant_titled(*turn.thread)
            except SIDE_CALL_ERRORS as error:
                log.info("could not title the assistant thread (%s)", type(error).__name__)
        return Status(client, turn.channel_id, turn.thread_ts)
