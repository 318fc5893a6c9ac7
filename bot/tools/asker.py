"""Who asks: what a function may be told of the person it runs for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Asker:
    """Declare a parameter of this type and the bot fills it in; the model never sees it.

    `time_zone` is the person's IANA time zone as Slack knows it (e.g.
    "Europe/London"), or "" when it is not known.
    """

    user_id: str
    team_id: str
    channel_id: str
    time_zone: str = ""


class TimeZones(Protocol):
    """Where the surface finds a person's time zone (Slack: `users.info`)."""

    async def time_zone(self, team_id: str, user_id: str) -> str:
        """The user's IANA time zone, or "" when it cannot be told."""


class NoTimeZones:
    async def time_zone(self, team_id: str, user_id: str) -> str:
        return ""
