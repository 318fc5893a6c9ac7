"""`python -m bot console`: a local console that behaves as one Slack thread.

For trying prompts and settings without a workspace. It uses the same
conversation core, model client and database as the bot; only the delivery
differs (text streams to the terminal). Type `/new` for a new thread, an
empty line or Ctrl-D to leave.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from bot import logs
from bot.conversation.answer import Conversation
from bot.conversation.budgets import DailyBudgets
from bot.conversation.channel_settings import ChannelSettings
from bot.conversation.delivery import ShownText
from bot.conversation.policy import Policies
from bot.conversation.turn import Turn
from bot.conversation.work import label, shown
from bot.main import StartupError, answer_options
from bot.responses.activities import Activities
from bot.responses.client import ResponsesClient
from bot.responses.endpoint_check import check_endpoint
from bot.settings import Settings, SettingsError, load_settings
from bot.store.channel_settings import CONSOLE_TEAM, ChannelSettingsStore
from bot.store.opening import CannotOpen, open_store
from bot.store.usage import UsageStore

USER = "UCONSOLE"


FILES = Path(tempfile.gettempdir()) / "bot-console-files"  # where files the model made go


class ConsoleDelivery:
    def __init__(self, out: TextIO, files: Path = FILES) -> None:
        self._out = out
        self._files = files
        self._printed = ""
        self._started = False
        self._told: set[str] = set()  # the activities already printed, in words

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

    async def working(self, activities: Activities) -> None:
        if self._printed:
            return  # the text has started: it is not interrupted
        for activity in shown(activities):
            if activity.kind == "reasoning" and not (
                activity.done or activity.detail.lstrip().startswith("**")
            ):
                continue  # a thought without a heading is told once it is whole
            words = label(activity)
            if words not in self._told and words != "Thinking…":
                self._told.add(words)
                self._out.write(f"({words}) ")
                self._out.flush()

    async def attach(self, name: str, content: bytes, *, alt: str = "") -> None:
        """Saved as a file, and its path said."""
        path = self._files / f"{time.strftime('%Y%m%d-%H%M%S')}-{Path(name).name}"

        def save() -> None:
            self._files.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)

        await asyncio.to_thread(save)
        self._out.write(f"\n[file: {path}]\n")
        self._out.flush()

    async def finish(
        self, text: str, notice: str | None = None, *, feedback_id: str | None = None
    ) -> None:
        if not self._started:
            await self.start()  # help and refusals come without a start
        final = text or self._printed
        if self._printed and not final.startswith(self._printed):
            # Finished differently from what streamed (links and sources put in place).
            self._out.write("\n\n")
            self._printed = ""
        await self.show(final)
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
        # `python -m bot settings set --team console --channel console NAME=VALUE`; usage is
        # counted for `python -m bot usage`, and no budget holds back the operator's console.
        policy=Policies(
            ChannelSettings(ChannelSettingsStore(store)), DailyBudgets(UsageStore(store))
        ),
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
                team_id=CONSOLE_TEAM,
                channel_id=CONSOLE_TEAM,
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
    except StartupError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1
    except CannotChat as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print()
    return 0
