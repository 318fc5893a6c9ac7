"""Settings per channel: a channel's own values over its workspace's, over the
environment's defaults, applied before each turn through the policy seam.

Values are kept as people typed them (`NAME=VALUE`), checked when they are set
(`check`), and applied to the turn's `Parameters` (`apply`). The rows live in the
database (`bot/store/channel_settings.py`); this module only knows them as two maps.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, get_args

from sqlalchemy import Connection

from bot.conversation.parameters import Parameters
from bot.conversation.policy import HandOver, Refusal
from bot.conversation.turn import Turn
from bot.responses.events import Usage
from bot.settings import BUILT_IN_TOOLS, ReasoningEffort, names
from bot.store.database import Work

log = logging.getLogger(__name__)

NAMES = (
    "model",
    "instructions",
    "tools",
    "temperature",
    "max_output_tokens",
    "reasoning_effort",
)
ENVIRONMENT, WORKSPACE, CHANNEL = "environment", "workspace", "channel"
NO_TOOLS = "none"  # `tools=none`: no built-in tools here, whatever the defaults say
REASONING_EFFORTS: tuple[str, ...] = get_args(ReasoningEffort)
MAX_INSTRUCTIONS = 20_000
MAX_MODEL_NAME = 100

# What each setting means, for help texts and the modal's hints.
MEANINGS = {
    "model": "the model name, e.g. gpt-4.1",
    "instructions": "sent as the model's instructions",
    "tools": f"built-in tools, comma-separated ({', '.join(BUILT_IN_TOOLS)}) or {NO_TOOLS}",
    "temperature": "0 to 2",
    "max_output_tokens": "a whole number, at least 16",
    "reasoning_effort": " | ".join(REASONING_EFFORTS),
}


class SettingError(ValueError):
    """A name or value that cannot be set; the message is one line for the person."""


Layers = tuple[Mapping[str, str], Mapping[str, str]]


class SettingsSource(Protocol):
    async def layers(self, team_id: str, channel_id: str) -> Layers:
        """The workspace's values and the channel's, as set (name → value)."""

    def reading(self, team_id: str, channel_id: str) -> Work[Layers]:
        """The same read, for any transaction."""


def check(name: str, value: str, defaults: Parameters) -> Any:
    """`value` of `name` as applied, or SettingError saying what is wrong with it."""
    value = value.strip()
    if name == "model":
        if not value or len(value) > MAX_MODEL_NAME or any(c.isspace() for c in value):
            raise SettingError(
                f"model must be a model name without spaces, such as {defaults.model}"
            )
        return value
    if name == "instructions":
        if len(value) > MAX_INSTRUCTIONS:
            raise SettingError(f"instructions can be at most {MAX_INSTRUCTIONS:,} characters")
        return value
    if name == "tools":
        return _tools(value, defaults)
    if name == "temperature":
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not 0.0 <= number <= 2.0:
            raise SettingError(f"temperature must be a number from 0 to 2, not {value!r}")
        return number
    if name == "max_output_tokens":
        try:
            whole = int(value)
        except ValueError:
            whole = 0
        if whole < 16:
            raise SettingError(
                f"max_output_tokens must be a whole number of at least 16, not {value!r}"
            )
        return whole
    if name == "reasoning_effort":
        if value not in REASONING_EFFORTS:
            raise SettingError(
                f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}, not {value!r}"
            )
        return value
    raise SettingError(f"unknown setting {name!r} (choose from {', '.join(NAMES)})")


def _tools(value: str, defaults: Parameters) -> tuple[str, ...]:
    if value.lower() == NO_TOOLS:
        return ()
    tools = tuple(dict.fromkeys(names(value)))
    if not tools:
        raise SettingError(f"tools must name built-in tools or be {NO_TOOLS}")
    unknown = [tool for tool in tools if tool not in BUILT_IN_TOOLS]
    if unknown:
        raise SettingError(
            f"unknown tool {unknown[0]!r} (choose from {', '.join(BUILT_IN_TOOLS)}, or {NO_TOOLS})"
        )
    if "file_search" in tools and not defaults.vector_store_ids:
        raise SettingError(
            "file_search needs vector stores to search: set OPENAI_VECTOR_STORE_IDS first"
        )
    return tools


def apply(parameters: Parameters, values: Mapping[str, str]) -> Parameters:
    """`parameters` with `values` over them."""
    changes = _checked(parameters, values)
    return dataclasses.replace(parameters, **changes) if changes else parameters


def _checked(parameters: Parameters, values: Mapping[str, str]) -> dict[str, Any]:
    """The values that hold, as applied; one that no longer does (the environment
    changed since it was set) is skipped, and logged."""
    changes: dict[str, Any] = {}
    for name, value in values.items():
        try:
            changes[name] = check(name, value, parameters)
        except SettingError as error:
            log.warning("a kept channel setting is skipped: %s", error)
    return changes


def shown(name: str, parameters: Parameters) -> str:
    """One setting's value in `parameters`, as a person reads it."""
    value = getattr(parameters, name)
    if name == "tools":
        return ",".join(value) if value else NO_TOOLS
    if value is None:
        return "(not set: the API's default)"
    return str(value)


@dataclass(frozen=True)
class Effective:
    """A setting's value for a channel, and where it comes from."""

    name: str
    value: str
    source: str  # environment, workspace or channel
    own: str | None  # the value set at the level asked about (None: not set there)


def effective(
    defaults: Parameters,
    workspace: Mapping[str, str],
    channel: Mapping[str, str] | None,
) -> list[Effective]:
    """Every setting's effective value for a channel (or, with `channel` None, for the
    workspace's defaults), with its source."""
    from_workspace = _checked(defaults, workspace)
    after_workspace = dataclasses.replace(defaults, **from_workspace)
    from_channel = _checked(after_workspace, channel or {})
    final = dataclasses.replace(after_workspace, **from_channel)
    rows = []
    for name in NAMES:
        if name in from_channel:
            source = CHANNEL
        elif name in from_workspace:
            source = WORKSPACE
        else:
            source = ENVIRONMENT
        own = (channel if channel is not None else workspace).get(name)
        rows.append(Effective(name, shown(name, final), source, own))
    return rows


def parse_assignments(items: list[str], defaults: Parameters) -> dict[str, str | None]:
    """`NAME=VALUE` items → name → value (None: clear it); SettingError on the first
    unknown name or bad value."""
    changes: dict[str, str | None] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep:
            raise SettingError(f"{item!r} is not NAME=VALUE (NAME= clears a setting)")
        if name not in NAMES:
            raise SettingError(f"unknown setting {name!r} (choose from {', '.join(NAMES)})")
        if value.strip():
            check(name, value, defaults)
            changes[name] = value.strip()
        else:
            changes[name] = None
    return changes


class ChannelSettings:
    """The policy that answers each turn with its channel's settings.

    A channel's settings are read on every turn, so they are kept here for `ttl`
    seconds: a change made on another worker is seen within that time.
    """

    def __init__(
        self,
        source: SettingsSource,
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ttl = ttl
        self._clock = clock
        self._kept: dict[tuple[str, str], tuple[float, Mapping[str, str], Mapping[str, str]]] = {}

    async def layers(
        self, team_id: str, channel_id: str
    ) -> tuple[Mapping[str, str], Mapping[str, str]]:
        key = (team_id, channel_id)
        kept = self._kept.get(key)
        now = self._clock()
        if kept is not None and now - kept[0] < self._ttl:
            return kept[1], kept[2]
        workspace, channel = await self._source.layers(team_id, channel_id)
        self._keep(key, now, (workspace, channel))
        return workspace, channel

    def _keep(self, key: tuple[str, str], at: float, layers: Layers) -> None:
        if len(self._kept) > 10_000:
            self._kept.clear()  # bounded: many channels over time
        self._kept[key] = (at, *layers)

    def prepare(self, turn: Turn) -> Work[HandOver] | None:
        """The channel's settings, read with the answer's start unless kept still."""
        key = (turn.team_id, turn.channel_id)
        kept = self._kept.get(key)
        if kept is not None and self._clock() - kept[0] < self._ttl:
            return None
        read = self._source.reading(*key)

        def work(conn: Connection) -> HandOver:
            layers = read(conn)
            return lambda: self._keep(key, self._clock(), layers)

        return work

    def forget(self, team_id: str) -> None:
        """A change was made here: read the workspace's settings afresh."""
        for key in [key for key in self._kept if key[0] == team_id]:
            del self._kept[key]

    async def admit(self, turn: Turn, parameters: Parameters) -> Parameters | Refusal:
        try:
            workspace, channel = await self.layers(turn.team_id, turn.channel_id)
        except Exception as error:  # the database briefly away: answer with the defaults
            log.warning("could not read channel settings (%s)", type(error).__name__)
            return parameters
        return apply(apply(parameters, workspace), channel)

    def spent(self, turn: Turn, model: str, usage: Usage) -> Work[None] | None:
        return None
