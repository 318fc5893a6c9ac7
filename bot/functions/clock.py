"""Dates and times, for a model that does not know what day it is.

Turn them on with
`BOT_FUNCTIONS=bot.functions.clock:current_time,bot.functions.clock:days_between`.
They read no network and no files.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.tools import Asker


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def current_time(asker: Asker, time_zone: str | None = None) -> str:
    """The current date and time, in the asker's time zone unless another is named.

    Args:
        time_zone: An IANA time zone such as "America/New_York"; null for the asker's own.
    """
    zone = _zone(time_zone or "") if time_zone else _zone(asker.time_zone)
    if time_zone and zone is None:
        return f"Unknown time zone {time_zone!r}; use an IANA name such as 'Europe/Paris'."
    now = datetime.now(zone or ZoneInfo("UTC"))
    label = (time_zone or asker.time_zone) if zone else "UTC (the asker's time zone is unknown)"
    iso = now.isoformat(timespec="seconds")
    return f"{now:%A %d %B %Y, %H:%M} ({label}, UTC{now:%z}); ISO 8601: {iso}"


def days_between(start: str, end: str) -> str:
    """The number of days from one date to another (negative when `end` comes first).

    Args:
        start: The first date, as YYYY-MM-DD.
        end: The second date, as YYYY-MM-DD.
    """
    first, second = date.fromisoformat(start), date.fromisoformat(end)
    days = (second - first).days
    weeks, rest = divmod(abs(days), 7)
    span = f"from {first:%A %d %B %Y} to {second:%A %d %B %Y}"
    return f"{days} days ({weeks} weeks and {rest} days) {span}"
