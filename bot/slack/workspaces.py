"""The Slack client for each workspace the bot serves.

Every call the bot makes to Slack, in a request or outside one (deliveries,
answers resumed after a restart, history, the Assistant panel's status), takes
its client from `client_for(team_id, enterprise_id)`:

- one workspace (`SLACK_BOT_TOKEN`): always the one client;
- many workspaces (OAuth): the workspace's installation, found in the database,
  its token renewed first when Slack rotates tokens and it is near its end. A
  client per installation is kept a short while, all on the one aiohttp session.

bolt's `authorize` asks the same place (`WorkspaceAuthorize`), so a request and
the work it starts use the same token, and no `auth.test` is called per event:
the installation knows the bot's user id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.calls import SIDE_CALL_ERRORS

log = logging.getLogger(__name__)

KEPT_SECONDS = 60.0  # a workspace's client is looked up again this often (uninstalls elsewhere)
ROTATE_MINUTES = 120  # renew a rotating token this long before it expires (bolt's default)

ClientFactory = Callable[[str | None], AsyncWebClient]


class NotInstalled(Exception):
    """The app is not (or no longer) installed in that workspace."""


@dataclass(frozen=True)
class Workspace:
    """One installation of the app: its client and the bot's ids there."""

    client: AsyncWebClient
    bot_user_id: str | None
    bot_id: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None
    scopes: tuple[str, ...] = ()


class Workspaces(Protocol):
    async def find(
        self, team_id: str | None, enterprise_id: str | None = None, *, org_wide: bool = False
    ) -> Workspace | None:
        """The installation serving that workspace (or org), or None."""

    async def client_for(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> AsyncWebClient:
        """The client to call Slack with for that workspace; NotInstalled if none."""

    async def uninstalled(
        self, team_id: str | None, enterprise_id: str | None, *, org_wide: bool = False
    ) -> None:
        """Slack says the app was uninstalled, or its bot token revoked: forget it."""


class OneWorkspace:
    """Single-workspace mode: the one bot token answers everywhere."""

    def __init__(self, client: AsyncWebClient, bot_user_id: str | None) -> None:
        self._workspace = Workspace(client, bot_user_id)

    async def find(
        self, team_id: str | None, enterprise_id: str | None = None, *, org_wide: bool = False
    ) -> Workspace | None:
        return self._workspace

    async def client_for(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> AsyncWebClient:
        return self._workspace.client

    async def uninstalled(
        self, team_id: str | None, enterprise_id: str | None, *, org_wide: bool = False
    ) -> None:
        log.warning("Slack says the app was uninstalled; SLACK_BOT_TOKEN no longer works")


@dataclass
class _Kept:
    workspace: Workspace
    expires_at: float | None  # the token's end (seconds since the epoch), when it rotates
    checked_at: float  # time.monotonic() when it was read from the database


class ManyWorkspaces:
    """Multi-workspace mode: each workspace's installation, from the database."""

    def __init__(
        self,
        installations: AsyncInstallationStore,
        make_client: ClientFactory,
        rotator: AsyncTokenRotator,
        *,
        rotate_minutes: int = ROTATE_MINUTES,
        kept_seconds: float = KEPT_SECONDS,
    ) -> None:
        self._installations = installations
        self._make_client = make_client
        self._rotator = rotator
        self._rotate_seconds = rotate_minutes * 60
        self._kept_seconds = kept_seconds
        self._kept: dict[tuple[str, str], _Kept] = {}  # by `_key`
        self._org_of: dict[str, str] = {}  # team → its org, as events told
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def client_for(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> AsyncWebClient:
        found = await self.find(team_id, enterprise_id)
        if found is None:
            raise NotInstalled(f"not installed in workspace {team_id or '-'}")
        return found.client

    async def find(
        self, team_id: str | None, enterprise_id: str | None = None, *, org_wide: bool = False
    ) -> Workspace | None:
        if team_id and enterprise_id:
            self._org_of[team_id] = enterprise_id
        enterprise_id = enterprise_id or (self._org_of.get(team_id) if team_id else None)
        if team_id and not org_wide:
            found = await self._installation(enterprise_id, team_id)
            if found is not None:
                return found
        if enterprise_id:  # an org-wide install serves every workspace of the org
            return await self._installation(enterprise_id, None)
        return None

    async def uninstalled(
        self, team_id: str | None, enterprise_id: str | None, *, org_wide: bool = False
    ) -> None:
        team = None if org_wide else team_id
        await self._installations.async_delete_all(enterprise_id=enterprise_id, team_id=team)
        self._forget(enterprise_id, team)

    def _forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        self._kept.pop(_key(enterprise_id, team_id), None)

    def _fresh(self, kept: _Kept | None) -> bool:
        if kept is None or time.monotonic() - kept.checked_at > self._kept_seconds:
            return False
        return kept.expires_at is None or kept.expires_at - time.time() > self._rotate_seconds

    async def _installation(
        self, enterprise_id: str | None, team_id: str | None
    ) -> Workspace | None:
        key = _key(enterprise_id, team_id)
        kept = self._kept.get(key)
        if kept is not None and self._fresh(kept):
            return kept.workspace
        async with self._locks.setdefault(key, asyncio.Lock()):
            kept = self._kept.get(key)
            if kept is not None and self._fresh(kept):
                return kept.workspace
            installation, renewed = await self._load(enterprise_id, team_id)
            if installation is None or not installation.bot_token:
                self._forget(enterprise_id, team_id)
                return None
            return (await self._keep(key, installation, kept, renewed)).workspace

    async def _load(
        self, enterprise_id: str | None, team_id: str | None
    ) -> tuple[Installation | None, bool]:
        """The installation, its token renewed first if it rotates and nears its end;
        and False when that renewal failed (it is tried again a minute later)."""
        installation = await self._installations.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=not team_id
        )
        if installation is None or not installation.bot_refresh_token:
            return installation, True
        try:
            renewed = await self._rotator.perform_token_rotation(
                installation=installation,
                minutes_before_expiration=self._rotate_seconds // 60,
            )
        except SlackTokenRotationError as error:
            # Another worker may have renewed it first (a refresh token is good once).
            again = await self._installations.async_find_installation(
                enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=not team_id
            )
            if again is not None and again.bot_refresh_token != installation.bot_refresh_token:
                return again, True
            code = error.api_error.response.get("error")
            log.warning("could not renew the bot token of workspace %s (%s)", team_id, code)
            return installation, False  # still good until it expires
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("could not renew the bot token of workspace %s (%s)", team_id,
                        type(error).__name__)  # fmt: skip
            return installation, False
        if renewed is None:
            return installation, True
        await self._installations.async_save(renewed)
        log.info("renewed the bot token of workspace %s", team_id or enterprise_id)
        return renewed, True

    async def _keep(
        self,
        key: tuple[str, str],
        installation: Installation,
        previous: _Kept | None,
        renewed: bool,
    ) -> _Kept:
        token = installation.bot_token
        if previous is not None and previous.workspace.client.token == token:
            workspace = previous.workspace  # the same token: the same client
        else:
            client = self._make_client(token)
            bot_user_id = installation.bot_user_id
            if not bot_user_id:
                try:
                    bot_user_id = (await client.auth_test()).get("user_id")
                except SIDE_CALL_ERRORS as error:
                    log.warning("auth.test failed for a workspace (%s)", type(error).__name__)
            workspace = Workspace(
                client,
                bot_user_id,
                installation.bot_id,
                installation.team_id,
                installation.enterprise_id,
                tuple(installation.bot_scopes or ()),
            )
        expires_at = installation.bot_token_expires_at if installation.bot_refresh_token else None
        if not renewed:
            expires_at = None  # kept as it is for a minute, then renewing is tried again
        kept = _Kept(workspace, float(expires_at) if expires_at else None, time.monotonic())
        self._kept[key] = kept
        return kept


def _key(enterprise_id: str | None, team_id: str | None) -> tuple[str, str]:
    """A workspace's installation by its team id (unique across orgs); an org-wide
    installation by its org."""
    return ("", team_id) if team_id else (enterprise_id or "", "")


class WorkspaceAuthorize(AsyncAuthorize):
    """bolt's authorize, from `Workspaces`: a request from a workspace without the app
    installed is not handled (bolt answers it and logs it)."""

    def __init__(self, workspaces: Workspaces) -> None:
        self._workspaces = workspaces

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: Any,
    ) -> AuthorizeResult | None:
        found = await self._workspaces.find(
            team_id, enterprise_id, org_wide=bool(context.is_enterprise_install)
        )
        if found is None:
            return None
        return AuthorizeResult(
            enterprise_id=found.enterprise_id or enterprise_id,
            team_id=found.team_id or team_id,
            bot_user_id=found.bot_user_id,
            bot_id=found.bot_id,
            bot_token=found.client.token,
            bot_scopes=list(found.scopes),
            user_id=user_id,
        )
