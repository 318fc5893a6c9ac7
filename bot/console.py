"""`python -m bot console`: a local console that behaves as one Slack thread.

For trying prompts and settings without a workspace. It uses the same
conversation core, model client and database as the bot; only the delivery
differs (text streams to the terminal). Type `/new` for a new thread, an
empty line or Ctrl-D to leave.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, TextIO

from bot import logs
from bot.conversation.answer import Conversation
from bot.conversation.delivery import ShownText
from bot.conversation.turn import Turn
from bot.main import answer_options
from bot.responses.client import ResponsesClient
from bot.responses.endpoint_check import check_endpoint
from bot.settings import Settings, SettingsError, load_settings
from bot.slack.update_delivery import activity_label
from bot.store.opening import CannotOpen, open_store

USER = "UCONSOLE"


class ConsoleDelivery:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._printed = ""
        self._started = False

    async def start(self) -> None:
        self._started = True
        self._out.write("bot> ")
        self._out.flush()

    async def show(self, text: str) -> None:
        if text.startswith(self._printed):
            self._out.write(text[len(self._printed) :])
            self._out.flush()
            self._printed = text

    async def refuse(self, text: str) -> None:
        self._out.write(f"[{text}]\n\n")
        self._out.flush()

    async def working(self, activity: str) -> None:
        if not self._printed:
            self._out.write(f"({activity_label(activity)}) ")
            self._out.flush()

    async def finish(
        self, text: str, notice: str | None = None, *, feedback_id: str | None = None
    ) -> None:
        if not self._started:
            await self.start()  # help and refusals come without a start
        await self.show(text or self._printed)
        if notice:
            self._out.write(("\n" if self._printed else "") + f"[{notice}]")
        self._out.write("\n\n")
        self._out.flush()

    def place(self) -> dict[str, Any]:
        return {}  # a terminal: nothing a later run could finish

    async def leave(self) -> None:
        return None  # nothing is sent before the end

    def report_to(self, watcher: ShownText) -> None:
        return None  # nothing is shown before the end: a successor starts from nothing


class CannotChat(Exception):
    """The console cannot start; the message is one line."""


async def chat(settings: Settings, lines: TextIO, out: TextIO) -> None:
    try:
        store = await open_store(settings.DATABASE_URL)
    except CannotOpen as error:
        raise CannotChat(str(error)) from None
    model = ResponsesClient(
        settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY, idle_timeout=settings.OPENAI_IDLE_TIMEOUT
    )
    finding = await check_endpoint(model, settings.OPENAI_BASE_URL)
    if finding is not None and finding.stops:
        await model.aclose()
        await store.close()
        raise CannotChat(finding.line)
    conversation = Conversation(
        store,
        model,
        answer_options(settings),
    )
    thread = f"{time.time():.6f}"
    out.write(
        f"Console thread {thread} with {settings.OPENAI_MODEL} at {settings.OPENAI_BASE_URL}."
        " Type /new for a new thread; an empty line or Ctrl-D leaves.\n\n"
    )
    try:
        while True:
            out.write("you> ")
            out.flush()
            line = await asyncio.to_thread(lines.readline)
            question = line.strip()
            if not question:
                break
            if question == "/new":
                thread = f"{time.time():.6f}"
                out.write(f"New thread {thread}.\n\n")
                continue
            turn = Turn(
                team_id="console",
                channel_id="console",
                thread_ts=thread,
                user_id=USER,
                message_ts=f"{time.time():.6f}",
                text=question,
            )
            if await conversation.accept(turn, {"via": "console"}):
                await conversation.answer(turn, ConsoleDelivery(out))
    finally:
        await model.aclose()
        await store.close()


def main() -> int:
    try:
        settings = load_settings(console=True)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    logs.configure("WARNING", settings.OPENAI_API_KEY)
    try:
        asyncio.run(chat(settings, sys.stdin, sys.stdout))
    except CannotChat as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print()
    return 0
