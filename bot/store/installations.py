"""Where the app is installed, and the OAuth states handed out: slack_sdk's async
installation and state stores, on the bot's own database and migrations.

The one place the store holds Slack's own objects: bolt's OAuth flow saves
`Installation`s here and the bot finds each workspace's token here. It is bot
tokens only (the app asks for no user scopes): one row per workspace, or per
Enterprise Grid org for an org-wide install (`team_id` ""); installing again
replaces the row. Tokens are kept as Slack gave them and are never logged.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy import Connection, delete, select

from bot.store.statements import insert_into
from bot.store.store import Store, now
from bot.store.tables import installations, oauth_states

log = logging.getLogger(__name__)

STATE_SECONDS = 600  # Slack's own default: ten minutes to approve an install


def _place(enterprise_id: str | None, team_id: str | None, org_wide: bool | None) -> Any:
    """Which row: the workspace's (any org), or the org's own for an org-wide install."""
    if org_wide or not team_id:
        return (installations.c.enterprise_id == (enterprise_id or "")) & (
            installations.c.team_id == ""
        )
    return installations.c.team_id == team_id


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Installation.to_dict() as JSON values: its datetimes as seconds since the epoch
    (whole seconds for token ends, as `Installation` reads them back)."""
    plain: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, datetime):
            value = int(value.timestamp()) if key.endswith("expires_at") else value.timestamp()
        plain[key] = value
    return plain


class Installations(AsyncInstallationStore):
    """slack_sdk's AsyncInstallationStore, bot tokens only, on the bot's database."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        values = _plain(installation.to_dict_for_copying())
        enterprise_id = installation.enterprise_id or ""
        team_id = "" if installation.is_enterprise_install else installation.team_id or ""
        row = {
            "enterprise_id": enterprise_id,
            "team_id": team_id,
            "is_enterprise_install": bool(installation.is_enterprise_install),
            "installation": json.dumps(values),
            "installed_at": now(),
        }

        def work(conn: Connection) -> None:
            conn.execute(
                insert_into(conn, installations)
                .values(**row)
                .on_conflict_do_update(
                    index_elements=["enterprise_id", "team_id"],
                    set_={k: v for k, v in row.items() if k not in ("enterprise_id", "team_id")},
                )
            )

        await self._store.run(work)
        log.info("installed in workspace %s (enterprise %s)", team_id or "-", enterprise_id or "-")

    async def async_save_bot(self, bot: Bot) -> None:
        """A renewed bot token (bolt's bot-only path): kept with its installation."""
        found = await self.async_find_installation(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            is_enterprise_install=bot.is_enterprise_install,
        )
        if found is None:
            return
        found.bot_token = bot.bot_token
        found.bot_refresh_token = bot.bot_refresh_token
        found.bot_token_expires_at = bot.bot_token_expires_at
        await self.async_save(found)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        def work(conn: Connection) -> str | None:
            found = conn.scalar(
                select(installations.c.installation).where(
                    _place(enterprise_id, team_id, is_enterprise_install)
                )
            )
            return None if found is None else str(found)

        data = await self._store.run(work)
        return None if data is None else Installation(**json.loads(data))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if found is None or not found.bot_token else found.to_bot()

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        await self.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        def work(conn: Connection) -> int:
            result = conn.execute(
                delete(installations).where(_place(enterprise_id, team_id, not team_id))
            )
            return int(result.rowcount or 0)

        if await self._store.run(work):
            log.info(
                "uninstalled from workspace %s (enterprise %s)",
                team_id or "-",
                enterprise_id or "-",
            )


class OAuthStates(AsyncOAuthStateStore):
    """slack_sdk's AsyncOAuthStateStore: each state is good once, for `seconds`."""

    def __init__(self, store: Store, seconds: int = STATE_SECONDS) -> None:
        self._store = store
        self._seconds = seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        at = now()

        def work(conn: Connection) -> None:
            conn.execute(delete(oauth_states).where(oauth_states.c.expires_at < at))
            conn.execute(
                oauth_states.insert().values(
                    state=state, expires_at=at + timedelta(seconds=self._seconds)
                )
            )

        await self._store.run(work)
        return state

    async def async_consume(self, state: str) -> bool:
        if not state or len(state) > 64:
            return False

        def work(conn: Connection) -> bool:
            result = conn.execute(
                delete(oauth_states).where(
                    oauth_states.c.state == state, oauth_states.c.expires_at > now()
                )
            )
            return bool(result.rowcount)

        return await self._store.run(work)
