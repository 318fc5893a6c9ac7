"""Settings per channel: values checked when set, layered channel over workspace over
environment, kept in the database, and read at most once per few seconds per channel."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from bot.conversation.channel_settings import (
    ChannelSettings,
    SettingError,
    apply,
    check,
    effective,
    parse_assignments,
)
from bot.conversation.parameters import Parameters
from bot.conversation.policy import Policies
from bot.conversation.turn import Turn
from bot.store import Store
from bot.store.channel_settings import ChannelSettingsStore

DEFAULTS = Parameters("gpt-4.1", "Be brief.", temperature=1.0)
TURN = Turn("T1", "C7", "1.0", "U1", "1.0", "hello")


def test_values_are_checked_as_they_are_set() -> None:
    assert check("temperature", " 0.5 ", DEFAULTS) == 0.5
    assert check("max_output_tokens", "800", DEFAULTS) == 800
    assert check("tools", "web_search, code_interpreter,web_search", DEFAULTS) == (
        "web_search",
        "code_interpreter",
    )
    assert check("tools", "none", DEFAULTS) == ()
    assert check("reasoning_effort", "minimal", DEFAULTS) == "minimal"
    with_stores = Parameters("gpt-4.1", "", vector_store_ids=("vs_1",))
    assert check("tools", "file_search", with_stores) == ("file_search",)
    for name, value in [
        ("temperature", "2.5"),
        ("temperature", "nan"),
        ("temperature", "warm"),
        ("max_output_tokens", "8"),
        ("max_output_tokens", "1.5"),
        ("tools", "web_search,telepathy"),
        ("tools", ","),
        ("tools", "file_search"),  # no vector stores to search
        ("reasoning_effort", "max"),
        ("model", "gpt 4"),
        ("model", "x" * 101),
        ("instructions", "x" * 20_001),
        ("top_p", "0.5"),  # not a per-channel setting
    ]:
        with pytest.raises(SettingError):
            check(name, value, DEFAULTS)


def test_assignments_parse_to_changes_and_clears() -> None:
    changes = parse_assignments(
        ["Model=gpt-4o", "temperature=", "instructions=Be kind = brief"], DEFAULTS
    )
    assert changes == {"model": "gpt-4o", "temperature": None, "instructions": "Be kind = brief"}
    with pytest.raises(SettingError, match="unknown setting 'colour'"):
        parse_assignments(["colour=red"], DEFAULTS)
    with pytest.raises(SettingError, match="NAME=VALUE"):
        parse_assignments(["model"], DEFAULTS)


def test_the_channel_wins_over_the_workspace_over_the_environment() -> None:
    workspace = {"model": "gpt-4o", "temperature": "0.5"}
    channel = {"temperature": "0.2", "tools": "web_search"}
    applied = apply(apply(DEFAULTS, workspace), channel)
    assert (applied.model, applied.temperature, applied.tools) == ("gpt-4o", 0.2, ("web_search",))
    rows = {
        row.name: (row.value, row.source, row.own)
        for row in effective(DEFAULTS, workspace, channel)
    }
    assert rows["model"] == ("gpt-4o", "workspace", None)
    assert rows["temperature"] == ("0.2", "channel", "0.2")
    assert rows["tools"] == ("web_search", "channel", "web_search")
    assert rows["instructions"] == ("Be brief.", "environment", None)
    assert rows["max_output_tokens"] == ("(not set: the API's default)", "environment", None)
    workspace_rows = {row.name: row.own for row in effective(DEFAULTS, workspace, None)}
    assert workspace_rows["model"] == "gpt-4o"


def test_a_kept_value_the_environment_no_longer_allows_is_skipped() -> None:
    # file_search was set while vector stores were configured; now they are not.
    applied = apply(DEFAULTS, {"tools": "file_search", "model": "gpt-4o"})
    assert (applied.tools, applied.model) == ((), "gpt-4o")


class Counted:
    """A settings source that counts its reads."""

    def __init__(self) -> None:
        self.reads = 0
        self.channel: dict[str, str] = {}

    async def layers(
        self, team_id: str, channel_id: str
    ) -> tuple[Mapping[str, str], Mapping[str, str]]:
        self.reads += 1
        return {}, dict(self.channel)


async def test_a_channel_is_read_once_per_few_seconds_and_a_change_is_seen_after() -> None:
    source, now = Counted(), [100.0]
    policy = ChannelSettings(source, ttl=5.0, clock=lambda: now[0])
    source.channel = {"model": "gpt-4o"}
    for _ in range(3):
        admitted = await Policies(policy).admit(TURN, DEFAULTS)
        assert isinstance(admitted, Parameters) and admitted.model == "gpt-4o"
    assert source.reads == 1
    source.channel = {"model": "o4-mini"}  # changed by another worker
    now[0] += 4.9
    assert (await policy.admit(TURN, DEFAULTS)).model == "gpt-4o"  # type: ignore[union-attr]
    now[0] += 0.2
    assert (await policy.admit(TURN, DEFAULTS)).model == "o4-mini"  # type: ignore[union-attr]
    source.channel = {}
    policy.forget("T1")  # changed here: seen at once
    assert (await policy.admit(TURN, DEFAULTS)).model == "gpt-4.1"  # type: ignore[union-attr]


async def test_settings_are_kept_per_team_and_channel_and_cleared(store: Store) -> None:
    kept = ChannelSettingsStore(store)
    assert await kept.layers("T1", "C7") == ({}, {})
    assert await kept.teams() == []
    await kept.change("T1", "", {"model": "gpt-4o"}, "operator")
    await kept.change("T1", "C7", {"temperature": "0.2", "tools": "web_search"}, "U5")
    await kept.change("T1", "C7", {"temperature": "0.3", "tools": None}, "U5")
    await kept.change("T2", "C7", {"model": "o4-mini"}, "operator")
    await kept.change("console", "console", {"model": "o4-mini"}, "operator")
    assert await kept.layers("T1", "C7") == ({"model": "gpt-4o"}, {"temperature": "0.3"})
    assert await kept.layers("T1", "C8") == ({"model": "gpt-4o"}, {})
    assert await kept.layers("T2", "C7") == ({}, {"model": "o4-mini"})
    assert await kept.teams() == ["T1", "T2"]  # the console is no workspace
    assert await kept.of_workspace("T1") == {"": {"model": "gpt-4o"}, "C7": {"temperature": "0.3"}}
