"""Installing the app in a workspace: bolt's OAuth flow, served by the bot's HTTP server.

`GET /slack/install` sends the browser to Slack's authorize page with the bot
scopes below and a fresh `state` (kept in the database, and in a cookie);
Slack sends it back to `GET /slack/oauth_redirect` with a code, which
`oauth.v2.access` exchanges for the workspace's bot token, kept as its
installation. A bad, used or expired state, or a refused install, gets a short
page saying so (4xx), never a crash.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    DefaultAsyncCallbackOptions,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

# manifest.yml's bot scopes (tests/unit/test_manifest.py keeps the two the same).
BOT_SCOPES = (
    "app_mentions:read",
    "assistant:write",
    "chat:write",
    "chat:write.public",
    "commands",
    "files:read",
    "files:write",
    "im:history",
    "channels:history",
    "groups:history",
    "mpim:history",
    "users:read",
)

# What the installer is told when the flow fails, by bolt's reason.
FAILURES = {
    "invalid_state": "This install link has expired or was already used.",
    "invalid_browser": "This install was started in another browser (or without cookies).",
    "missing_code": "Slack did not send an authorization code.",
    "invalid_code": "Slack did not accept the authorization code.",
    "access_denied": "The install was cancelled.",
    "storage_error": "The installation could not be saved.",
}


def authorize_url(api_url: str) -> str:
    """Slack's authorize page beside its Web API (`…/api/` → `…/oauth/v2/authorize`)."""
    base = api_url.rstrip("/").removesuffix("/api")
    return f"{base}/oauth/v2/authorize"


def failure_page(reason: str) -> str:
    told = FAILURES.get(reason, "The installation did not complete.")
    return (
        "<!doctype html><html><head><title>Installation failed</title></head><body>"
        f"<h2>Installation failed</h2><p>{html.escape(told)}</p>"
        f'<p><a href="{INSTALL_PATH}">Start the installation again</a>.</p>'
        "</body></html>"
    )


async def _failed(args: AsyncFailureArgs) -> BoltResponse:
    log.info("an installation failed (%s)", args.reason)
    status = args.suggested_status_code
    if status < 400 or args.reason == "storage_error":
        status = 400 if status < 400 else 503
    return BoltResponse(
        status=status,
        body=failure_page(args.reason),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )


def install_flow(
    settings: Settings,
    installations: AsyncInstallationStore,
    states: AsyncOAuthStateStore,
    client: AsyncWebClient,
) -> AsyncOAuthFlow:
    """bolt's OAuth flow for the bot: its scopes, the database's stores, SLACK_API_URL."""
    oauth = AsyncOAuthSettings(
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=settings.SLACK_REDIRECT_URI or None,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        install_page_rendering_enabled=False,  # straight on to Slack
        authorization_url=authorize_url(settings.SLACK_API_URL),
        installation_store=installations,
        state_store=states,
    )
    default = DefaultAsyncCallbackOptions(
        logger=log,
        state_utils=oauth.state_utils,
        redirect_uri_page_renderer=oauth.redirect_uri_page_renderer,
    )
    oauth.callback_options = AsyncCallbackOptions(success=default.success, failure=_failed)
    return AsyncOAuthFlow(client=client, logger=log, settings=oauth)


def add_routes(web_app: web.Application, flow: AsyncOAuthFlow) -> None:
    """`GET /slack/install` and `GET /slack/oauth_redirect` on the bot's HTTP server."""

    async def install(request: web.Request) -> web.Response:
        return await _run(flow.handle_installation, request)

    async def redirect(request: web.Request) -> web.Response:
        return await _run(flow.handle_callback, request)

    web_app.router.add_get(INSTALL_PATH, install)
    web_app.router.add_get(REDIRECT_PATH, redirect)


async def _run(
    step: Callable[[AsyncBoltRequest], Awaitable[BoltResponse]], request: web.Request
) -> web.Response:
    try:
        response = await step(await to_bolt_request(request))
    except Exception as error:  # the database or Slack away: the installer can try again
        log.warning("the install flow failed (%s)", type(error).__name__)
        return web.Response(status=503, text=failure_page("unavailable"), content_type="text/html")
    return await to_aiohttp_response(response)
