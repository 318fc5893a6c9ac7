"""The App Home tab as Block Kit: what the bot is, how to ask it, the person's usage today
and budget left; for admins, the workspace's day and its channel settings. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.conversation.budgets import resets
from bot.store.usage import WorkspaceDay

MAX_PEOPLE = 10  # the most people listed in an admin's view of the day
MAX_CHANNELS = 40  # channels with settings listed (a view holds 100 blocks)
MAX_TEXT = 2_900  # a section's text holds 3,000 characters

# channel id ("" for the workspace's defaults) → setting name → value
ChannelRows = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Admin:
    """What an admin sees besides their own usage."""

    day: WorkspaceDay
    channel_settings: ChannelRows = field(default_factory=dict)


@dataclass(frozen=True)
class HomeFacts:
    user_id: str
    bot_user_id: str | None
    model: str
    now: datetime  # UTC
    mine: int  # the person's tokens today
    workspace: int  # the workspace's tokens today
    user_limit: int | None = None
    workspace_limit: int | None = None
    admin: Admin | None = None


def section(text: str) -> dict[str, Any]:
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


DIVIDER = {"type": "divider"}


def tokens(n: int) -> str:
    return f"{n:,} token" + ("" if n == 1 else "s")


def home_view(facts: HomeFacts) -> dict[str, Any]:
    blocks = [*about(facts), DIVIDER, *your_day(facts)]
    if facts.admin is not None:
        blocks += [DIVIDER, *workspace_day(facts, facts.admin.day)]
        blocks += [DIVIDER, *channel_settings(facts.admin.channel_settings)]
    return {"type": "home", "blocks": blocks}


def about(facts: HomeFacts) -> list[dict[str, Any]]:
    me = f"<@{facts.bot_user_id}>" if facts.bot_user_id else "the bot"
    return [
        header("Ask me anything"),
        section(
            f"{me if facts.bot_user_id else 'This bot'} answers questions with "
            f"OpenAI's `{facts.model}` (some channels may use another model). The answer "
            "appears in the thread as it is written; each thread is one conversation, so a "
            "follow-up in the same thread keeps what was said before."
        ),
        header("How to ask"),
        section(
            f"• *In a channel*: mention {me} with your question; the answer comes in the "
            "thread. Mention me again in that thread to go on.\n"
            "• *In a direct message*: write to me in the *Messages* tab; no mention needed.\n"
            "• */ask your question*: a one-off answer, without earlier context.\n"
            "• *In the assistant panel*: open me from the AI apps button at the top of "
            "Slack to ask beside whatever channel you are reading."
        ),
    ]


def your_day(facts: HomeFacts) -> list[dict[str, Any]]:
    lines = [f"You've used *{tokens(facts.mine)}* today (UTC)."]
    left: list[int] = []
    if facts.user_limit is not None:
        left.append(max(facts.user_limit - facts.mine, 0))
        lines.append(f"Your daily budget: {tokens(facts.user_limit)}.")
    if facts.workspace_limit is not None:
        everyone = max(facts.workspace_limit - facts.workspace, 0)
        left.append(everyone)
        lines.append(
            f"The workspace's daily budget: {tokens(facts.workspace_limit)}, "
            f"{tokens(everyone)} left for everyone."
        )
    if not left:
        lines.append("There is no daily limit.")
        return [header("Your usage today"), section("\n".join(lines))]
    lines.append(f"*Left for you today: {tokens(min(left))}.*")
    return [
        header("Your usage today"),
        section("\n".join(lines)),
        context(f"Every daily budget {resets(facts.now)}."),
    ]


def workspace_day(facts: HomeFacts, day: WorkspaceDay) -> list[dict[str, Any]]:
    people = len(day.by_user)
    summary = (
        f"*{tokens(day.total_tokens)}* in *{day.answers:,}* answer"
        f"{'' if day.answers == 1 else 's'} ({day.asks:,} by /ask) for *{people:,}* "
        f"{'person' if people == 1 else 'people'}."
    )
    if facts.workspace_limit is not None:
        left = max(facts.workspace_limit - day.total_tokens, 0)
        summary += f"\nDaily budget: {tokens(facts.workspace_limit)}, {tokens(left)} left."
    else:
        summary += "\nNo daily budget for the workspace."
    if facts.user_limit is not None:
        summary += f" Each person's daily budget: {tokens(facts.user_limit)}."
    blocks = [header("The workspace today (admins)"), section(summary)]
    if day.by_user:
        shown = day.by_user[:MAX_PEOPLE]
        lines = [f"• <@{user}>: {tokens(spent)}" for user, spent in shown]
        if people > len(shown):
            lines.append(f"…and {people - len(shown)} more")
        blocks.append(section("*Most used today*\n" + "\n".join(lines)))
    return blocks


def channel_settings(rows: ChannelRows) -> list[dict[str, Any]]:
    """Each channel with values of its own; a workspace's defaults come under "" (the
    channel-settings store keeps them so)."""
    blocks = [header("Channel settings (admins)")]
    if rows.get(""):
        blocks.append(section(f"*Workspace defaults*\n{described(rows[''])}"))
    channels = sorted(channel for channel in rows if channel)
    if not channels:
        blocks.append(section("Every channel uses the defaults."))
        return blocks
    for channel in channels[:MAX_CHANNELS]:
        blocks.append(section(f"<#{channel}>\n{described(rows[channel]) or 'the defaults'}"))
    if len(channels) > MAX_CHANNELS:
        blocks.append(context(f"…and {len(channels) - MAX_CHANNELS} more channels."))
    return blocks


def described(settings: Mapping[str, str]) -> str:
    return " · ".join(f"`{name}`: {value}" for name, value in settings.items())
