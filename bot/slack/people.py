"""What Slack knows of a person that the core may need: their time zone (`users.info`,
scope `users:read`), remembered for an hour."""

from __future__ import annotations

import logging
import time

from bot.slack.calls import SIDE_CALL_ERRORS
from bot.slack.workspaces import Workspaces

log = logging.getLogger(__name__)

REMEMBERED = 3600.0  # seconds
MAX_REMEMBERED = 10_000


class SlackPeople:
    def __init__(self, workspaces: Workspaces) -> None:
        self._workspaces = workspaces  # each person is looked up with their workspace's token
        self._zones: dict[tuple[str, str], tuple[float, str]] = {}

    async def time_zone(self, team_id: str, user_id: str) -> str:
        """The user's IANA time zone (`user.tz`), or "" when Slack cannot tell."""
        key = (team_id, user_id)
        found = self._zones.get(key)
        if found is not None and time.monotonic() - found[0] < REMEMBERED:
            return found[1]
        try:
            client = await self._workspaces.client_for(team_id)
            response = await client.users_info(user=user_id)
        except SIDE_CALL_ERRORS as error:
            log.info("could not read a user's time zone (%s)", type(error).__name__)
            return ""
        user = response.get("user")
        zone = user.get("tz") if isinstance(user, dict) else None
        zone = zone if isinstance(zone, str) else ""
        if len(self._zones) >= MAX_REMEMBERED:
            self._zones.clear()
        self._zones[key] = (time.monotonic(), zone)
        return zone
