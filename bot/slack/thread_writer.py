"""The bot's messages of one answer in one thread: post, edit, and write the final text."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.split import split_message
from bot.slack import blocks
from bot.slack.budget import AnswerBudget, unlimited
from bot.slack.calls import must_land, once, slack_error

log = logging.getLogger(__name__)

Actions = dict[str, Any] | None  # a block of buttons
T = TypeVar("T")

# Slack's answers that mean "not like this": retry the same text as plain mrkdwn.
REFUSED_MARKDOWN = {"invalid_blocks", "invalid_blocks_format", "msg_too_long", "too_many_blocks"}
# Slack's answers that mean "this message cannot be edited" (e.g. someone deleted it):
# the final text goes in a new message instead.
CANNOT_EDIT = {"message_not_found", "cant_update_message", "edit_window_closed"}


class ThreadWriter:
    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str | None,
        header: str = "",
        *,
        budget: AnswerBudget | None = None,
    ) -> None:
        self.client = client
        self.budget = budget or unlimited()  # the workspace's Slack budget, this answer's part
        self.channel = channel
        self.thread_ts = thread_ts
        self.header = header
        self.as_markdown = True

    @property
    def chunk_limit(self) -> int:
        return blocks.MARKDOWN_CHUNK if self.as_markdown else blocks.TEXT_CHUNK

    def _payload(
        self,
        markdown: str,
        notice: str | None = None,
        *,
        first: bool = True,
        actions: Actions = None,
    ) -> dict[str, Any]:
        header = self.header if first else ""
        return blocks.message(
            markdown, header=header, as_markdown=self.as_markdown, notice=notice, actions=actions
        )

    def _update_payload(
        self,
        markdown: str,
        notice: str | None = None,
        *,
        first: bool = True,
        actions: Actions = None,
    ) -> dict[str, Any]:
        payload = self._payload(markdown, notice, first=first, actions=actions)
        # chat.update keeps the blocks it is not sent: plain text must clear them, or
        # the blocks of an earlier edit would go on showing an older text.
        payload.setdefault("blocks", [])
        return payload

    async def _in_markdown_or_mrkdwn(self, send: Callable[[], Awaitable[T]]) -> T:
        """`send()` builds its payload when called: where Slack refuses Markdown blocks,
        the same text goes again as mrkdwn, and so does everything after it."""
        try:
            return await send()
        except SlackApiError as error:
            if not self.as_markdown or slack_error(error) not in REFUSED_MARKDOWN:
                raise
            log.warning("slack refused a markdown message (%s); sending mrkdwn", slack_error(error))
            self.as_markdown = False
            return await send()

    async def post(
        self, markdown: str, *, first: bool = True, must: bool = False, actions: Actions = None
    ) -> str:
        """Post a message of this answer; returns its ts."""
        call = must_land if must else once

        async def send() -> str:
            kwargs = self._payload(markdown, first=first, actions=actions)
            if self.thread_ts:
                kwargs["thread_ts"] = self.thread_ts
            post = self.budget.urgent("chat.postMessage", self.client.chat_postMessage)
            response = await call(post, channel=self.channel, **kwargs)
            return str(response["ts"])

        return await self._in_markdown_or_mrkdwn(send)

    async def edit(self, ts: str, markdown: str, actions: Actions = None) -> None:
        """An interim edit (may raise RateLimited): shows what fits in one message."""

        async def send() -> None:
            shown = markdown
            if len(shown) > self.chunk_limit:
                shown = split_message(markdown, self.chunk_limit)[0] + "\n…"
            payload = self._update_payload(shown, actions=actions)
            edit = self.budget.interim("chat.update", self.client.chat_update)
            await once(edit, channel=self.channel, ts=ts, **payload)

        await self._in_markdown_or_mrkdwn(send)

    async def write_final(
        self, ts: str | None, markdown: str, notice: str | None, actions: Actions = None
    ) -> None:
        """The full final text: edits `ts` (or posts, without one), continues in further
        messages when too long. `actions` (e.g. feedback buttons) go on the last message."""
        await self._in_markdown_or_mrkdwn(lambda: self._write_final(ts, markdown, notice, actions))

    async def _write_final(
        self, ts: str | None, markdown: str, notice: str | None, actions: Actions
    ) -> None:
        chunks = split_message(markdown, self.chunk_limit) or [""]
        last = len(chunks) - 1
        for index, chunk in enumerate(chunks):
            chunk_notice = notice if index == last else None
            chunk_actions = actions if index == last else None
            if index == 0:
                ts = await self._replace(ts, chunk, chunk_notice, chunk_actions)
                continue
            payload = self._payload(chunk, chunk_notice, first=False, actions=chunk_actions)
            await must_land(
                self.budget.urgent("chat.postMessage", self.client.chat_postMessage),
                channel=self.channel,
                thread_ts=self.thread_ts or ts,
                **payload,
            )

    async def _replace(
        self, ts: str | None, markdown: str, notice: str | None, actions: Actions
    ) -> str:
        """Edit the message at `ts`; without one, or if it cannot be edited, post the text
        anew. Its ts."""
        try:
            if ts is not None:
                payload = self._update_payload(markdown, notice, actions=actions)
                edit = self.budget.urgent("chat.update", self.client.chat_update)
                await must_land(edit, channel=self.channel, ts=ts, **payload)
                return ts
        except SlackApiError as error:
            if slack_error(error) not in CANNOT_EDIT:
                raise
            log.warning("cannot edit the answer (%s); posting it anew", slack_error(error))
        payload = self._payload(markdown, notice, actions=actions)
        if self.thread_ts:
            payload["thread_ts"] = self.thread_ts
        post = self.budget.urgent("chat.postMessage", self.client.chat_postMessage)
        response = await must_land(post, channel=self.channel, **payload)
        return str(response["ts"])
