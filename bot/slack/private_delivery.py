"""An answer only the asker sees, through a slash command's `response_url`.

Used where the bot may not post (a channel it is not in, a DM between two
people). A response_url takes five messages in 30 minutes, so the answer is
not streamed: a placeholder, then the final text in its place.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bot.conversation import notices
from bot.conversation.delivery import ShownText
from bot.render.mrkdwn import to_mrkdwn
from bot.render.split import split_message
from bot.responses.activities import Activities
from bot.slack.blocks import TEXT_CHUNK

log = logging.getLogger(__name__)


class CannotAttach(Exception):
    """This surface cannot show files."""


MAX_MESSAGES = 4  # of the five a response_url takes; the placeholder is the first


class PrivateDelivery:
    def __init__(self, session: aiohttp.ClientSession, response_url: str, header: str = "") -> None:
        self._session = session
        self._url = response_url
        self._header = header
        self._shown = ""
        self._finished = False

    async def _send(self, text: str, *, replace: bool) -> None:
        payload: dict[str, Any] = {"response_type": "ephemeral", "text": text}
        if replace:
            payload["replace_original"] = True
        async with self._session.post(self._url, json=payload) as response:
            if response.status >= 400:
                log.warning("response_url refused a message: HTTP %s", response.status)

    async def start(self) -> None:
        await self._send(f"_{notices.THINKING}_", replace=False)

    async def show(self, text: str) -> None:
        self._shown = text

    async def working(self, activities: Activities) -> None:
        return None  # five messages in 30 minutes: nothing is shown before the end

    async def finish(
        self, text: str, notice: str | None = None, *, feedback_id: str | None = None
    ) -> None:
        if self._finished:
            return
        self._finished = True
        body = to_mrkdwn(text or self._shown)
        full = "\n\n".join(p for p in (self._header, body, f"_{notice}_" if notice else "") if p)
        chunks = split_message(full, TEXT_CHUNK) or [" "]
        if len(chunks) > MAX_MESSAGES:
            chunks = chunks[:MAX_MESSAGES]
            chunks[-1] += "\n\n_(The answer was longer than a private reply can hold.)_"
        for index, chunk in enumerate(chunks):
            await self._send(chunk, replace=index == 0)

    async def attach(self, name: str, content: bytes, *, alt: str = "") -> None:
        # A response_url carries text only: a file would be seen by everyone.
        raise CannotAttach("a private reply cannot carry files")

    async def refuse(self, text: str) -> None:
        self._finished = True
        await self._send(text, replace=False)

    def place(self) -> dict[str, Any]:
        return {"private": True}

    async def leave(self) -> None:
        return None  # nothing is sent before the end

    def report_to(self, watcher: ShownText) -> None:
        return None  # nothing is shown before the end: a successor starts from nothing
