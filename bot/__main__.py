"""`python -m bot [run | migrate | console | usage | settings]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from functools import partial
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
    from bot.heap import freeze_start_up_heap
    from bot.main import Bot

    bot = await Bot.start(settings)
    freeze_start_up_heap()
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


async def usage(settings: DatabaseSettings, days: int = 7) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.store.opening import open_store
    from bot.store.usage import UsageStore
    from bot.usage_report import usage_table

    today = datetime.now(UTC).date()
    store = await open_store(settings.DATABASE_URL)
    try:
        rows = await UsageStore(store).since(today - timedelta(days=days - 1))
        totals = await store.usage_totals()
        votes = await store.feedback_totals()
    finally:
        await store.close()
    print(usage_table(rows, days=days, today=today))
    print()
    print(f"turns in threads (all time): {totals['turns']:,}")
    print(f"reasoning tokens in threads (all time): {totals['reasoning_tokens']:,}")
    print(f"feedback: {votes['up']:,} 👍, {votes['down']:,} 👎")


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def password_of(url: str) -> str:
    """The password in a database URL, to keep out of the logs ("" without one)."""
    from sqlalchemy import make_url

    try:
        return make_url(url).password or ""
    except Exception:
        return ""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["settings"]:  # its own sub-commands and options
        from bot.settings_command import main as settings_main

        return settings_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=["run", "migrate", "console", "usage", "settings"],
        help="run the bot (default), apply database migrations, chat in a local console, "
        "print usage totals, or show and set settings per channel (settings --help)",
    )
    parser.add_argument(
        "--days",
        type=positive,
        default=7,
        help="usage: the last N UTC days, today included (default 7)",
    )
    args = parser.parse_args(argv)

    if args.command == "console":
        from bot.console import main as console_main

        return console_main()
    # The database commands need only DATABASE_URL: no Slack or model settings.
    database_commands: dict[str, Callable[[DatabaseSettings], Coroutine[Any, Any, None]]] = {
        "migrate": migrate,
        "usage": partial(usage, days=args.days),
    }
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
