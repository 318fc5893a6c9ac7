"""Slack's side of installing an app in many workspaces, for FakeSlack (opt-in).

- `GET /oauth/v2/authorize?client_id&scope&state[&redirect_uri][&team]`: the
  installer approves at once; the browser is sent to the redirect URL (the one
  asked for, or the app's `redirect_uri`) with a one-time `code` and the `state`.
- `oauth.v2.access`: the code exchanged for the workspace's bot token (client id
  and secret by HTTP Basic auth or in the form, as slack_sdk sends them); with
  `grant_type=refresh_token`, a rotating token renewed (the refresh token is good
  once; the old access token works until it expires).
- Once a workspace is added, every Web API call is checked against the tokens
  issued: unknown → `invalid_auth`, after an uninstall → `token_revoked`, past its
  end → `token_expired`, and a channel of another workspace → `channel_not_found`.

Shapes follow Slack's documentation of oauth.v2.access (team, enterprise,
is_enterprise_install, bot_user_id, scope, token_type, and for token rotation
refresh_token and expires_in).
"""

from __future__ import annotations

import base64
import itertools
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"
APP_ID = "A1"


@dataclass
class FakeWorkspace:
    """A workspace (or, `org_wide`, an Enterprise Grid org) the app can be installed in."""

    team_id: str  # for an org-wide install, the org's id (its `enterprise_id`)
    bot_user_id: str
    bot_id: str
    name: str = ""
    enterprise_id: str | None = None
    org_wide: bool = False
    channels: set[str] = field(default_factory=set)  # empty: any channel is accepted
    rotating: bool = False  # token rotation on: tokens expire and are refreshed
    expires_in: int = 43_200  # seconds a rotating token lasts (Slack: 12 hours)
    installs: int = 0  # completed code exchanges

    @property
    def team_for_events(self) -> str | None:
        """`team.id` of the install: None for an org-wide one."""
        return None if self.org_wide else self.team_id


@dataclass
class _Token:
    workspace: FakeWorkspace
    expires_at: float | None
    revoked: bool = False


class FakeInstalls:
    """The app's installs: its credentials, the workspaces, the tokens issued."""

    def __init__(self) -> None:
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self.redirect_uri: str | None = None  # the app's configured redirect URL
        self.workspaces: dict[str, FakeWorkspace] = {}
        self.authorize_requests: list[dict[str, str]] = []  # query strings, in order
        self._tokens: dict[str, _Token] = {}
        self._current: dict[str, str] = {}  # team → its latest bot token
        self._refresh: dict[str, FakeWorkspace] = {}  # refresh token → workspace (once)
        self._codes: dict[str, tuple[FakeWorkspace, str | None]] = {}
        self._numbers = itertools.count(1)

    @property
    def checking(self) -> bool:
        """True once a workspace is added: every call's token is checked."""
        return bool(self.workspaces)

    def add(
        self,
        team_id: str,
        *,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        enterprise_id: str | None = None,
        org_wide: bool = False,
        channels: tuple[str, ...] = (),
        rotating: bool = False,
        expires_in: int = 43_200,
    ) -> FakeWorkspace:
        """A workspace the app can be installed in (`org_wide`: `team_id` is the org's)."""
        workspace = FakeWorkspace(
            team_id,
            bot_user_id or f"UBOT{team_id}",
            bot_id or f"BBOT{team_id}",
            name=f"Workspace {team_id}",
            enterprise_id=team_id if org_wide else enterprise_id,
            org_wide=org_wide,
            channels=set(channels),
            rotating=rotating,
            expires_in=expires_in,
        )
        self.workspaces[team_id] = workspace
        return workspace

    def token_of(self, team_id: str) -> str:
        """The latest bot token issued for the workspace; KeyError before an install."""
        return self._current[team_id]

    def tokens_of(self, team_id: str) -> set[str]:
        """Every bot token ever issued for the workspace."""
        return {t for t, token in self._tokens.items() if token.workspace.team_id == team_id}

    def uninstall(self, team_id: str) -> None:
        """The workspace removes the app: its tokens stop working, as in Slack."""
        for token in self._tokens.values():
            if token.workspace.team_id == team_id:
                token.revoked = True
        self._current.pop(team_id, None)
        self._refresh = {r: w for r, w in self._refresh.items() if w.team_id != team_id}

    def expire(self, team_id: str) -> None:
        """The workspace's tokens reach their end now."""
        for token in self._tokens.values():
            if token.workspace.team_id == team_id and token.expires_at is not None:
                token.expires_at = time.time() - 1

    def workspace_of(self, token: str) -> FakeWorkspace | None:
        found = self._tokens.get(token)
        return found.workspace if found else None

    def refusal(self, token: str, args: Mapping[str, Any]) -> str | None:
        """Why a call with `token` fails (Slack's error code), or None."""
        found = self._tokens.get(token)
        if found is None:
            return "invalid_auth"
        if found.revoked:
            return "token_revoked"
        if found.expires_at is not None and found.expires_at < time.time():
            return "token_expired"
        channel = args.get("channel") or args.get("channel_id")
        owners = [w for w in self.workspaces.values() if channel and channel in w.channels]
        if owners and found.workspace not in owners:
            return "channel_not_found"
        return None

    # -- the browser's side ----------------------------------------------------

    def authorize(self, query: Mapping[str, str]) -> tuple[int, str]:
        """(302, where to) once approved; (400, why) for a request Slack would refuse."""
        self.authorize_requests.append(dict(query))
        if query.get("client_id") != self.client_id:
            return 400, "invalid_client_id"
        team = query.get("team") or next(iter(self.workspaces), "")
        workspace = self.workspaces.get(team)
        if workspace is None:
            return 400, "unknown workspace"
        asked = query.get("redirect_uri") or None
        target = asked or self.redirect_uri
        if not target:
            return 400, "bad_redirect_uri"
        code = f"code-{next(self._numbers)}"
        self._codes[code] = (workspace, asked)
        sep = "&" if "?" in target else "?"
        params = urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
        return 302, f"{target}{sep}{params}"

    # -- oauth.v2.access -------------------------------------------------------

    def access(self, args: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        client_id, client_secret = _credentials(args, headers)
        if client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if client_secret != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        if args.get("grant_type") == "refresh_token":
            workspace = self._refresh.pop(str(args.get("refresh_token") or ""), None)
            if workspace is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            return self._grant(workspace)
        found = self._codes.pop(str(args.get("code") or ""), None)
        if found is None:
            return {"ok": False, "error": "invalid_code"}
        workspace, asked = found
        if asked is not None and args.get("redirect_uri") != asked:
            return {"ok": False, "error": "bad_redirect_uri"}
        workspace.installs += 1
        return self._grant(workspace)

    def _grant(self, workspace: FakeWorkspace) -> dict[str, Any]:
        n = next(self._numbers)
        team = workspace.team_id
        token = f"xoxe.xoxb-1-{team}-{n}" if workspace.rotating else f"xoxb-{team}-{n}"
        expires_at = time.time() + workspace.expires_in if workspace.rotating else None
        self._tokens[token] = _Token(workspace, expires_at)
        self._current[team] = token
        body: dict[str, Any] = {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "scope": ",".join(self._scopes()),
            "bot_user_id": workspace.bot_user_id,
            "app_id": APP_ID,
            "team": None
            if workspace.org_wide
            else {"id": workspace.team_id, "name": workspace.name},
            "enterprise": {"id": workspace.enterprise_id, "name": f"Org {workspace.enterprise_id}"}
            if workspace.enterprise_id
            else None,
            "is_enterprise_install": workspace.org_wide,
            "authed_user": {"id": "UINSTALLER"},
        }
        if workspace.rotating:
            refresh = f"xoxe-1-refresh-{team}-{n}"
            self._refresh[refresh] = workspace
            body.update(refresh_token=refresh, expires_in=workspace.expires_in)
        return body

    def _scopes(self) -> list[str]:
        asked = self.authorize_requests[-1].get("scope", "") if self.authorize_requests else ""
        return [s for s in asked.split(",") if s]

    def auth_test(self, workspace: FakeWorkspace) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{workspace.team_id.lower()}.slack.com/",
            "team": workspace.name,
            "user": "bot",
            "team_id": workspace.team_for_events,
            "user_id": workspace.bot_user_id,
            "bot_id": workspace.bot_id,
            "enterprise_id": workspace.enterprise_id,
            "is_enterprise_install": workspace.org_wide,
        }


def _credentials(args: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[str, str]:
    header = headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return str(args.get("client_id") or ""), str(args.get("client_secret") or "")


def token_in(headers: Mapping[str, str], args: Mapping[str, Any]) -> str:
    """The token a Web API call carries (Bearer header, or `token` in the form)."""
    header = headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:]
    return str(args.get("token") or "")
