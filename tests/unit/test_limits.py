"""The pure parts of limits: when budgets reset, who counts as where, what the App Home
shows, how operators read usage, and which handler serves each App Home tab."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.access import AllowLists, is_direct
from bot.conversation.budgets import resets, user_over
from bot.conversation.parameters import Parameters
from bot.conversation.policy import Refusal
from bot.conversation.turn import Turn
from bot.main import allow_lists
from bot.settings import Settings, SettingsError, load_settings
from bot.slack.home import HomeOpened, HomeTabs
from bot.slack.home_view import MAX_CHANNELS, Admin, HomeFacts, home_view
from bot.store.usage import UsageRow, WorkspaceDay
from bot.usage_report import usage_table
from tests.fakes.slack_api import blocks_text
from tests.unit.test_manifest import MANIFEST


@pytest.mark.parametrize(
    ("now", "said"),
    [
        (datetime(2026, 11, 30, 20, 40, tzinfo=UTC), "resets at 00:00 UTC, in 3 h 20 min"),
        (datetime(2026, 11, 30, 21, 0, tzinfo=UTC), "resets at 00:00 UTC, in 3 h"),
        (datetime(2026, 11, 30, 23, 15, 30, tzinfo=UTC), "resets at 00:00 UTC, in 45 min"),
        (datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), "resets at 00:00 UTC, in 1 min"),
        (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), "resets at 00:00 UTC, in 24 h"),
    ],
)
def test_budgets_reset_at_midnight_utc_said_in_words_and_from_now(now: datetime, said: str) -> None:
    assert resets(now) == said


def test_a_refusal_names_the_limit_and_when_it_resets() -> None:
    now = datetime(2026, 11, 30, 20, 40, tzinfo=UTC)
    assert user_over(50_000, now) == (
        "You've reached your daily limit of 50,000 tokens. It resets at 00:00 UTC, in 3 h 20 min."
    )


def turn(channel: str = "C1", user: str = "U1", **fields: Any) -> Turn:
    return Turn("T1", channel, "1.1", user, "1.1", "hi", **fields)


def test_direct_messages_are_told_apart_from_channels() -> None:
    assert is_direct(turn("D1", shared=False))  # a DM message
    assert is_direct(turn("D1", one_off=True))  # /ask in a DM
    assert not is_direct(turn("C1")) and not is_direct(turn("G1", one_off=True))


async def test_empty_allow_lists_allow_everyone_everywhere() -> None:
    defaults = Parameters(model="gpt-4.1", instructions="Be brief.")
    assert await AllowLists().admit(turn("C9", "U9"), defaults) == defaults
    lists = AllowLists(["U1"], ["C1"])
    assert await lists.admit(turn("D4", "U1", shared=False), defaults) == defaults
    assert isinstance(await lists.admit(turn("C2", "U1"), defaults), Refusal)
    assert isinstance(await lists.admit(turn("D4", "U2", shared=False), defaults), Refusal)


def facts(**fields: Any) -> HomeFacts:
    values: dict[str, Any] = {
        "user_id": "U1",
        "bot_user_id": "UBOT",
        "model": "gpt-4.1",
        "now": datetime(2026, 11, 30, 20, 40, tzinfo=UTC),
        "mine": 0,
        "workspace": 0,
    }
    return HomeFacts(**(values | fields))


def test_the_tighter_budget_is_what_is_left_for_a_person() -> None:
    view = home_view(facts(mine=100, workspace=9_800, user_limit=1_000, workspace_limit=10_000))
    text = blocks_text(view["blocks"])
    assert "*Left for you today: 200 tokens.*" in text
    assert "200 tokens left for everyone" in text
    assert "Every daily budget resets at 00:00 UTC, in 3 h 20 min." in text


def test_an_admin_sees_each_channels_settings_and_the_view_stays_within_slacks_limits() -> None:
    rows: dict[str, dict[str, str]] = {"": {"model": "gpt-4.1-mini"}}  # workspace defaults
    rows |= {f"C{n:03d}": {"model": "gpt-4o", "temperature": "0.2"} for n in range(60)}
    day = WorkspaceDay(answers=3, asks=1, total_tokens=900, by_user=(("U1", 600), ("U2", 300)))
    view = home_view(facts(admin=Admin(day, rows)))
    text = blocks_text(view["blocks"])
    assert "*Workspace defaults*\n`model`: gpt-4.1-mini\n<#C000>\n`model`: gpt-4o · " in text
    assert f"…and {60 - MAX_CHANNELS} more channels." in text
    assert len(view["blocks"]) <= 100
    assert "No daily budget for the workspace." in text
    defaults_only = home_view(facts(admin=Admin(day, {"": {"tools": "web_search"}})))
    only_defaults = blocks_text(defaults_only["blocks"])
    assert "*Workspace defaults*\n`tools`: web_search\nEvery channel uses the defaults." in (
        only_defaults
    )


def row(day: date, team: str, user: str, channel: str, *n: int) -> UsageRow:
    return UsageRow(day, team, user, channel, "gpt-4.1", *n)


def test_the_usage_table_has_a_line_per_row_aligned_and_a_total() -> None:
    today = date(2026, 11, 30)
    table = usage_table(
        [
            row(today, "T1", "U1", "C1", 3, 1, 12_000, 3_456, 15_456),
            row(date(2026, 11, 29), "T2", "U2", "D9", 1, 0, 10, 5, 15),
        ],
        days=7,
        today=today,
    )
    lines = table.splitlines()
    assert lines[0] == (
        "Tokens by day, user, channel and model, the last 7 days (UTC, today included):"
    )
    assert lines[2].split() == [
        "day", "workspace", "user", "channel", "model", "answers", "/ask", "input", "output",
        "total",
    ]  # fmt: skip
    assert lines[4].split() == ["2026-11-30", "T1", "U1", "C1", "gpt-4.1", "3", "1", "12,000",
                                "3,456", "15,456"]  # fmt: skip
    assert lines[-1].split() == ["total", "4", "1", "12,010", "3,461", "15,471"]
    assert len({len(line) for line in lines[2:] if not line.startswith("total")}) == 1
    assert usage_table([], days=1, today=today) == "No model usage in today (UTC)."


async def test_each_app_home_tab_goes_to_its_own_handler() -> None:
    seen: list[tuple[str, str, str]] = []

    async def home(opened: HomeOpened) -> None:
        seen.append(("home", opened.team_id, opened.user_id))

    async def messages(opened: HomeOpened) -> None:
        seen.append(("messages", opened.team_id, opened.user_id))

    tabs = HomeTabs(home=home)
    tabs.add("messages", messages)
    client = AsyncWebClient(token="xoxb-unused")
    for tab in ("home", "messages", "about"):
        event = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": tab}
        await tabs.opened({"team_id": "T1", "event": event}, event, client)
    await tabs.opened({"team_id": "T1"}, {"type": "app_home_opened", "tab": "home"}, client)
    assert seen == [("home", "T1", "U1"), ("messages", "T1", "U1")]


def test_the_manifest_turns_the_home_tab_on_and_asks_for_what_it_needs() -> None:
    data = yaml.safe_load(MANIFEST.read_text())
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in data["settings"]["event_subscriptions"]["bot_events"]
    assert "users:read" in data["oauth_config"]["scopes"]["bot"]  # users.info: admins


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("BOT_ALLOWED_USERS", "U1, @alice", "'@alice' is not a Slack user id (like U0123ABCD)"),
        ("BOT_ADMINS", "alice", "'alice' is not a Slack user id (like U0123ABCD)"),
        ("BOT_ALLOWED_CHANNELS", "C1,#general", "'#general' is not a Slack channel id"),
    ],
)
def test_allow_lists_that_could_match_no_one_stop_the_start_with_one_line(
    name: str, value: str, said: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for setting in Settings.model_fields:
        monkeypatch.delenv(setting, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-1")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert f"{name} is invalid: {said}" in str(error.value)
    assert "\n" not in str(error.value)


def test_slack_ids_of_every_kind_are_accepted() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", OPENAI_API_KEY="k",
        BOT_ALLOWED_USERS="U0123ABCD, W0123ABCD", BOT_ADMINS="U1X",
        BOT_ALLOWED_CHANNELS="C0123ABCD,G0123ABCD",
    )  # fmt: skip
    assert allow_lists(settings).users == {"U0123ABCD", "W0123ABCD"}
    assert allow_lists(settings).channels == {"C0123ABCD", "G0123ABCD"}
