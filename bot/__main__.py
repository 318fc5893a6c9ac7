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
from bot.settings import (
    DatabaseSettings,
    Settings,
    SettingsError,
    load_database_settings,
    load_settings,
)

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


async def migrate(settings: DatabaseSettings) -> None:
    from bot.store.opening import open_store

    store = await open_store(settings.DATABASE_URL)
    await store.close()
    print("Database is up to date.")


async def usage(settings: DatabaseSettings) -> None:
    from bot.store.opening import open_store

    store = await open_store(settings.DATABASE_URL)
    try:
        totals = await store.usage_totals()
        votes = await store.feedback_totals()
    finally:
        await store.close()
    for name, value in totals.items():
        print(f"{name}: {value:,}")
    print(f"feedback: {votes['up']:,} 👍, {votes['down']:,} 👎")


def password_of(url: str) -> str:
    """The password in a database URL, to keep out of the logs ("" without one)."""
    from sqlalchemy import make_url

    try:
        return make_url(url).password or ""
    except Exception:
        return ""


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
    # The database commands need only DATABASE_URL: no Slack or model settings.
    database_commands = {"migrate": migrate, "usage": usage}
    try:
        settings = (
            load_database_settings() if args.command in database_commands else load_settings()
        )
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    secrets = [password_of(settings.DATABASE_URL)]
    if isinstance(settings, Settings):
        secrets += [
            settings.SLACK_BOT_TOKEN,
            settings.SLACK_SIGNING_SECRET,
            settings.SLACK_APP_TOKEN,
            settings.OPENAI_API_KEY,
            settings.SLACK_CLIENT_SECRET,
        ]
    logs.configure(settings.BOT_LOG_LEVEL, *secrets, style=settings.BOT_LOG_FORMAT)
    from bot.main import StartupError
    from bot.store.opening import CannotOpen

    try:
        if isinstance(settings, Settings):
            run_loop(run(settings))
        else:
            run_loop(database_commands[args.command](settings))
    except StartupError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1
    except CannotOpen as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
