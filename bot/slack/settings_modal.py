"""`/ask-settings` in a channel: its settings in a modal, for workspace admins and owners
and BOT_ADMINS; anyone else is told privately that they cannot.

A command of its own rather than `/ask settings`, which is a question someone may
well ask.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.channel_settings import ChannelSettings, SettingError, check, effective
from bot.conversation.parameters import Parameters
from bot.slack.calls import SIDE_CALL_ERRORS, slack_error
from bot.slack.settings_view import CALLBACK_ID, block_id, settings_view, submitted, where
from bot.store.channel_settings import ChannelSettingsStore

log = logging.getLogger(__name__)

COMMAND = "/ask-settings"
NOT_ALLOWED = (
    "Only the workspace's admins and owners (and the bot's admins) can change this "
    "channel's settings."
)
NOT_OPENED = "I couldn't open the settings just now. Please try again."
NOT_SAVED = "The settings could not be saved just now. Please try again."


class SettingsModal:
    def __init__(
        self,
        kept: ChannelSettingsStore,
        policy: ChannelSettings,
        defaults: Parameters,
        admins: set[str],
    ) -> None:
        self._kept = kept
        self._policy = policy
        self._defaults = defaults
        self._admins = admins

    async def may_change(self, client: AsyncWebClient, user_id: str) -> bool:
        """BOT_ADMINS, and the workspace's admins and owners as Slack says."""
        if user_id in self._admins:
            return True
        try:
            found = await client.users_info(user=user_id)
        except SIDE_CALL_ERRORS as error:
            log.warning("could not tell whether someone is an admin (%s)", type(error).__name__)
            return False
        user = found.get("user")
        if not isinstance(user, dict):
            return False
        return any(user.get(flag) is True for flag in ("is_admin", "is_owner", "is_primary_owner"))

    async def open(
        self, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        user, team = str(command.get("user_id") or ""), str(command.get("team_id") or "")
        channel = str(command.get("channel_id") or "")
        if not await self.may_change(client, user):
            await respond(text=NOT_ALLOWED, response_type="ephemeral")
            return
        workspace, own = await self._kept.layers(team, channel)
        view = settings_view(team, channel, user, effective(self._defaults, workspace, own))
        try:
            await client.views_open(trigger_id=str(command.get("trigger_id") or ""), view=view)
        except SIDE_CALL_ERRORS as error:
            if isinstance(error, SlackApiError):
                log.warning("could not open the settings modal (%s)", slack_error(error))
            else:
                log.warning("could not open the settings modal (%s)", type(error).__name__)
            await respond(text=NOT_OPENED, response_type="ephemeral")

    async def submit(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        opened = where(view)
        user = body.get("user")
        user_id = str(user.get("id") or "") if isinstance(user, dict) else ""
        if opened is None or opened[2] != user_id:
            await ack()  # not a modal this bot opened for this person: nothing changes
            return
        team, channel, _ = opened
        values = submitted(view)
        errors = {}
        for name, value in values.items():
            if value:
                try:
                    check(name, value, self._defaults)
                except SettingError as error:
                    errors[block_id(name)] = str(error)
        if errors:
            await ack(response_action="errors", errors=errors)  # shown under each field
            return
        try:
            await self._kept.change(
                team, channel, {name: value or None for name, value in values.items()}, user_id
            )
        except Exception as error:
            log.warning("could not save channel settings (%s)", type(error).__name__)
            first = block_id(next(iter(values), "model"))
            await ack(response_action="errors", errors={first: NOT_SAVED})
            return
        self._policy.forget(team)
        await ack()
        log.info("channel settings changed in Slack")


def register(app: AsyncApp, modal: SettingsModal) -> None:
    """The command and the modal's submission (before any catch-all listener)."""

    @app.command(COMMAND)
    async def on_settings_command(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        await modal.open(command, client, respond)

    @app.view(CALLBACK_ID)
    async def on_settings_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        await modal.submit(ack, body, view)
