"""`python -m bot settings show|set`: settings per channel, for operators.

Needs only DATABASE_URL (and the environment's defaults, which it shows): no Slack
or OpenAI keys.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO

from bot.conversation.channel_settings import (
    MEANINGS,
    NAMES,
    SettingError,
    effective,
    parse_assignments,
)
from bot.conversation.parameters import Parameters
from bot.settings import Settings, SettingsError, load_settings
from bot.store import Store
from bot.store.channel_settings import WORKSPACE_DEFAULTS, ChannelSettingsStore

OPERATOR = "operator"  # who changed a setting, when it was not someone in Slack


class CommandError(Exception):
    """One line for the operator; the command exits non-zero."""


def parser() -> argparse.ArgumentParser:
    settings = argparse.ArgumentParser(
        prog="python -m bot settings",
        description="Settings per channel, over the workspace's and the environment's.",
        epilog="Settings: "
        + "; ".join(f"{name} ({MEANINGS[name]})" for name in NAMES)
        + ". NAME= with no value clears one.",
    )
    actions = settings.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="the effective settings and where each comes from")
    change = actions.add_parser("set", help="set NAME=VALUE (NAME= clears it)")
    for sub in (show, change):
        where = sub.add_mutually_exclusive_group(required=True)
        where.add_argument("--channel", help="a channel id, e.g. C0123ABCD")
        where.add_argument(
            "--workspace", action="store_true", help="the workspace's defaults for every channel"
        )
        sub.add_argument(
            "--team", help="the workspace's id (T…); may be left out while the bot serves one"
        )
    change.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
    return settings


async def command(args: argparse.Namespace, settings: Settings, out: TextIO) -> None:
    channel = WORKSPACE_DEFAULTS if args.workspace else str(args.channel).strip()
    if not args.workspace and not channel:
        raise CommandError("give a channel id with --channel (or --workspace for its defaults)")
    defaults = Parameters.from_settings(settings)
    changes = parse_assignments(args.assignments, defaults) if args.action == "set" else {}
    store = await Store.open(settings.DATABASE_URL)
    try:
        kept = ChannelSettingsStore(store)
        team = args.team or await only_team(kept)
        if changes:
            await kept.change(team, channel, changes, OPERATOR)
        workspace, own = await kept.layers(team, channel)
    finally:
        await store.close()
    if args.workspace:
        out.write(f"Defaults of workspace {team}, for every channel:\n")
        rows = effective(defaults, workspace, None)
    else:
        out.write(f"Settings of channel {channel} in workspace {team}:\n")
        rows = effective(defaults, workspace, own)
    width = max(len(name) for name in NAMES)
    for row in rows:
        out.write(f"  {row.name:<{width}}  {one_line(row.value)}  ({row.source})\n")


async def only_team(kept: ChannelSettingsStore) -> str:
    teams = await kept.teams()
    if len(teams) == 1:
        return teams[0]
    if not teams:
        raise CommandError(
            "No workspace is known in the database yet: give --team with the workspace's id (T…)."
        )
    raise CommandError(
        f"The database knows {len(teams)} workspaces ({', '.join(teams)}): choose one with --team."
    )


def one_line(value: str, limit: int = 100) -> str:
    line = " ".join(value.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings(database_only=True)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        asyncio.run(command(args, settings, sys.stdout))
    except (CommandError, SettingError) as error:
        print(f"Cannot {args.action} settings: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the database cannot be opened: one line, no trace
        print(f"Cannot open the database at DATABASE_URL: {type(error).__name__}", file=sys.stderr)
        return 1
    return 0
