"""`python -m bot [run | migrate | console | usage]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from bot import logs
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("bot")


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed (Linux, macOS): the same bot costs a
    quarter less CPU per answer (bench/); asyncio's own loop elsewhere."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


async def run(settings: Settings) -> None:
    from bot.main import Bot

    bot = await Bot.start(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: letting answers under way finish")
    await bot.stop()


async def migrate(settings: Settings) -> None:
    from bot.store import Store

    store = await Store.open(settings.DATABASE_URL)
    await store.close()
    print("Database is up to date.")


async def usage(settings: Settings) -> None:
    from bot.store import Store

    store = await Store.open(settings.DATABASE_URL)
    try:
        totals = await store.usage_totals()
        votes = await store.feedback_totals()
    finally:
        await store.close()
    for name, value in totals.items():
        print(f"{name}: {value:,}")
    print(f"feedback: {votes['up']:,} 👍, {votes['down']:,} 👎")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=["run", "migrate", "console", "usage"],
        help="run the bot (default), apply database migrations, chat in a local console, "
        "or print usage totals",
    )
    args = parser.parse_args(argv)

    if args.command == "console":
        from bot.console import main as console_main

        return console_main()
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    logs.configure(
        settings.BOT_LOG_LEVEL,
        settings.SLACK_BOT_TOKEN,
        settings.SLACK_SIGNING_SECRET,
        settings.SLACK_APP_TOKEN,
        settings.SLACK_CLIENT_SECRET,
        settings.OPENAI_API_KEY,
    )
    commands = {"run": run, "migrate": migrate, "usage": usage}
    from bot.main import StartupError

    try:
        run_loop(commands[args.command](settings))
    except StartupError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
