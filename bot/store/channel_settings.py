"""Settings per channel as the database keeps them: a workspace's defaults (channel "")
and each channel's own values, one row per value set. Names and values are checked
before they reach here (`bot/conversation/channel_settings.py`)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, bindparam, delete, select, union

from bot.store.database import Work
from bot.store.statements import insert_into
from bot.store.store import Store, now
from bot.store.tables import channel_settings, threads

WORKSPACE_DEFAULTS = ""  # the channel id under which a workspace's defaults are kept
CONSOLE_TEAM = "console"  # `python -m bot console`: no workspace

# A workspace's defaults and one channel's values (built once: see statements.py).
_LAYERS = select(
    channel_settings.c.channel_id, channel_settings.c.name, channel_settings.c.value
).where(
    channel_settings.c.team_id == bindparam("team"),
    (channel_settings.c.channel_id == WORKSPACE_DEFAULTS)
    | (channel_settings.c.channel_id == bindparam("channel")),
)


class ChannelSettingsStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def layers(self, team_id: str, channel_id: str) -> tuple[dict[str, str], dict[str, str]]:
        """The workspace's values and the channel's, in one query."""
        return await self._store.run(self.reading(team_id, channel_id))

    def reading(self, team_id: str, channel_id: str) -> Work[tuple[dict[str, str], dict[str, str]]]:
        """The same read, for any transaction."""

        def work(conn: Connection) -> tuple[dict[str, str], dict[str, str]]:
            rows = conn.execute(_LAYERS, {"team": team_id, "channel": channel_id}).all()
            workspace: dict[str, str] = {}
            channel: dict[str, str] = {}
            for row in rows:
                kept = workspace if row.channel_id == WORKSPACE_DEFAULTS else channel
                kept[str(row.name)] = str(row.value)
            return workspace, channel

        return work

    async def change(
        self, team_id: str, channel_id: str, values: Mapping[str, str | None], by: str
    ) -> None:
        """Set (a value) or clear (None) each named setting, in one transaction."""
        table = channel_settings

        def work(conn: Connection) -> None:
            at = now()
            for name, value in values.items():
                place = (
                    table.c.team_id == team_id,
                    table.c.channel_id == channel_id,
                    table.c.name == name,
                )
                if value is None:
                    conn.execute(delete(table).where(*place))
                    continue
                row = {"value": value, "changed_by": by, "changed_at": at}
                conn.execute(
                    insert_into(conn, table)
                    .values(team_id=team_id, channel_id=channel_id, name=name, **row)
                    .on_conflict_do_update(
                        index_elements=["team_id", "channel_id", "name"], set_=row
                    )
                )

        await self._store.run(work)

    async def of_workspace(self, team_id: str) -> dict[str, dict[str, str]]:
        """Every value set in a workspace: channel id ("" for its defaults) → name → value."""
        table = channel_settings

        def work(conn: Connection) -> dict[str, dict[str, str]]:
            rows = conn.execute(
                select(table.c.channel_id, table.c.name, table.c.value)
                .where(table.c.team_id == team_id)
                .order_by(table.c.channel_id, table.c.name)
            ).all()
            found: dict[str, dict[str, str]] = {}
            for row in rows:
                found.setdefault(str(row.channel_id), {})[str(row.name)] = str(row.value)
            return found

        return await self._store.run(work)

    async def teams(self) -> list[str]:
        """The workspaces the database knows of (the console's aside)."""

        def work(conn: Connection) -> list[str]:
            known = union(select(threads.c.team_id), select(channel_settings.c.team_id))
            found = {str(row[0]) for row in conn.execute(known).all()}
            return sorted(found - {CONSOLE_TEAM, ""})

        return await self._store.run(work)
