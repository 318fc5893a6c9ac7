"""The App Home: one `app_home_opened` listener for all its tabs, and the Home tab.

Slack sends `app_home_opened` for every tab a person opens (`tab: "home"` or
`"messages"`), and bolt runs only the first listener that matches an event, so one
listener dispatches by tab to the handler added for it (`HomeTabs.add`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.budgets import Clock, DailyBudgets, utc_now
from bot.slack.calls import slack_error
from bot.slack.home_view import Admin, ChannelRows, HomeFacts, home_view
from bot.store.usage import UsageStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HomeOpened:
    """A person opened a tab of the App Home."""

    team_id: str
    user_id: str
    tab: str  # "home" or "messages"
    event: dict[str, Any]
    client: AsyncWebClient  # with the token of the person's workspace
    bot_user_id: str | None = None


Tab = Callable[[HomeOpened], Awaitable[None]]


class HomeTabs:
    """Which handler serves each tab of the App Home (`home=…`, `messages=…`)."""

    def __init__(self, **tabs: Tab) -> None:
        self._tabs: dict[str, Tab] = dict(tabs)

    def add(self, tab: str, handler: Tab) -> None:
        self._tabs[tab] = handler

    async def opened(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        client: AsyncWebClient,
        bot_user_id: str | None = None,
    ) -> None:
        tab, user = event.get("tab"), event.get("user")
        handler = self._tabs.get(tab) if isinstance(tab, str) else None
        if handler is None or not isinstance(user, str) or not user:
            return
        view = event.get("view") if isinstance(event.get("view"), dict) else {}
        team = body.get("team_id") or (view or {}).get("team_id") or ""
        await handler(HomeOpened(str(team), user, str(tab), event, client, bot_user_id))


async def no_channel_settings(team_id: str) -> ChannelRows:
    return {}


# A workspace's channels that have settings of their own: channel id → name → value.
ChannelSettings = Callable[[str], Awaitable[ChannelRows]]


class AppHome:
    """The Home tab, published for a person each time they open it."""

    def __init__(
        self,
        usage: UsageStore,
        budgets: DailyBudgets,
        *,
        model: str,
        admins: Iterable[str] = (),
        channel_settings: ChannelSettings = no_channel_settings,
        clock: Clock = utc_now,
    ) -> None:
        self._usage = usage
        self._budgets = budgets
        self._model = model
        self._admins = frozenset(admins)
        self.channel_settings = channel_settings
        self._clock = clock

    async def show(self, opened: HomeOpened) -> None:
        try:
            view = home_view(await self._facts(opened, self._clock()))
            await opened.client.views_publish(user_id=opened.user_id, view=view)
        except SlackApiError as error:
            log.warning("could not publish the App Home (%s)", slack_error(error))

    async def _facts(self, opened: HomeOpened, now: datetime) -> HomeFacts:
        team, user, day = opened.team_id, opened.user_id, now.date()
        mine, workspace = await self._usage.spent_on(day, team, user)
        admin = None
        if await self.is_admin(opened):
            admin = Admin(
                await self._usage.workspace_on(day, team), await self.channel_settings(team)
            )
        return HomeFacts(
            user_id=user,
            bot_user_id=opened.bot_user_id,
            model=self._model,
            now=now,
            mine=mine,
            workspace=workspace,
            user_limit=self._budgets.user_tokens,
            workspace_limit=self._budgets.workspace_tokens,
            admin=admin,
        )

    async def is_admin(self, opened: HomeOpened) -> bool:
        """BOT_ADMINS, and the workspace's admins and owners (users.info)."""
        if opened.user_id in self._admins:
            return True
        try:
            reply = await opened.client.users_info(user=opened.user_id)
        except SlackApiError as error:
            log.info("could not tell whether a user is an admin (%s)", slack_error(error))
            return False
        user = reply.get("user")
        if not isinstance(user, dict):
            return False
        return any(user.get(flag) is True for flag in ("is_admin", "is_owner", "is_primary_owner"))
