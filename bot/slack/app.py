"""The bolt app: verify, ack at once, turn payloads into Turns, queue them.

Listeners only classify and enqueue; the answer runs later in the TurnQueue,
so Slack's 3-second acknowledgement never waits on the model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation import notices
from bot.conversation.approvals import Approvals
from bot.conversation.queue import TurnQueue
from bot.conversation.stops import Stops
from bot.conversation.turn import Turn
from bot.logs import NoBodies
from bot.slack import approval_presses, buttons
from bot.slack.assistant import AssistantPanel
from bot.slack.calls import slack_error
from bot.slack.deliveries import Deliveries
from bot.slack.home import HomeTabs
from bot.slack.payloads import (
    heard_from_event,
    revision_from_event,
    team_of,
    turn_from_command,
    turn_from_event,
)
from bot.slack.press import Press
from bot.slack.settings_modal import SettingsModal
from bot.slack.settings_modal import register as register_settings
from bot.slack.workspaces import NotInstalled, WorkspaceAuthorize, Workspaces
from bot.store import Store

log = logging.getLogger(__name__)

# How long a Stop pressed here waits for the worker streaming the answer to say it stopped
# it; then the presser is told it could not be stopped.
STOP_REACH_SECONDS = 3.0
ALREADY_FINISHED = "That answer has already finished."
NOT_REACHED = "I couldn't stop that answer just now. Please try again in a moment."

# Keeps a turn (and how its answer is delivered) before it is queued; False for a
# message accepted before.
Accept = Callable[[Turn, dict[str, Any]], Awaitable[bool]]


class _QuietTokenNotice(logging.Filter):
    """bolt warns that SLACK_BOT_TOKEN is unused when it is handed the client that
    carries it; that is by design here, so operators are spared the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(
    workspaces: Workspaces,
    client: AsyncWebClient,
    *,
    signing_secret: str,
    socket_mode: bool,
    accept: Accept,
    queue: TurnQueue,
    deliveries: Deliveries,
    stops: Stops,
    store: Store,
    panel: AssistantPanel,
    settings_modal: SettingsModal | None = None,
    home: HomeTabs | None = None,
    approvals: Approvals | None = None,
    install: AsyncOAuthFlow | None = None,
) -> AsyncApp:
    """The app; with `install` (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET), for many
    workspaces: each request is authorized by its workspace's installation, and
    `client` (the app's own, with no token) serves the OAuth flow."""
    bolt_log = logging.getLogger("bot.slack.bolt")
    bolt_log.addFilter(_QuietTokenNotice())
    if not any(isinstance(f, NoBodies) for f in bolt_log.filters):
        bolt_log.addFilter(NoBodies())  # bolt's loggers copy these filters: no request bodies
    many: dict[str, Any] = {}
    if install is not None:
        many = {"oauth_flow": install, "authorize": WorkspaceAuthorize(workspaces)}
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        # Socket Mode frames come over an authenticated socket, not signed HTTP.
        request_verification_enabled=not socket_mode,
        logger=bolt_log,
        **many,
    )

    async def on_turn_event(body: dict[str, Any], context: AsyncBoltContext) -> None:
        turn = turn_from_event(body, context.bot_user_id)
        if turn is not None:
            org = context.enterprise_id
            try:
                delivery = await deliveries.in_thread(turn, enterprise_id=org)
            except NotInstalled:
                log.info("skipping a message from a workspace without the app installed")
                return
            async with queue.intake():
                if await accept(turn, deliveries.route(enterprise_id=org)):
                    queue.submit(turn, delivery)
                else:
                    log.info("skipping a message already taken on")
            return
        heard = heard_from_event(body, context.bot_user_id)
        # Said in a thread the bot is in (or whose first turn is under way): the model
        # hears it with the next turn.
        if heard is not None and await store.hear_if_taking_part(
            heard.team_id, heard.channel_id, heard.thread_ts, heard.user_id, heard.ts,
            heard.text, [file.kept() for file in heard.files],
        ):  # fmt: skip
            return
        revision = revision_from_event(body, context.bot_user_id)
        if revision is not None:
            # Edited or deleted by its author: what the model has not been sent yet
            # follows; what it was sent cannot be taken back.
            await store.revise_heard(
                revision.team_id, revision.channel_id, revision.ts, revision.text
            )

    app.event("app_mention")(on_turn_event)
    app.event("message")(on_turn_event)

    @app.event("assistant_thread_started")
    async def on_assistant_thread(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        team_id = team_of(body)
        client = await workspaces.client_for(team_id, context.enterprise_id)
        await panel.thread_started(team_id, event, client)

    @app.event("assistant_thread_context_changed")
    async def on_assistant_context(body: dict[str, Any], event: dict[str, Any]) -> None:
        await panel.context_changed(team_of(body), event)

    if install is not None:

        @app.event("app_uninstalled")
        async def on_uninstalled(context: AsyncBoltContext) -> None:
            await workspaces.uninstalled(
                context.team_id, context.enterprise_id, org_wide=bool(context.is_enterprise_install)
            )

        @app.event("tokens_revoked")
        async def on_tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
            tokens = event.get("tokens")
            if isinstance(tokens, dict) and tokens.get("bot"):  # user tokens: none are kept
                await workspaces.uninstalled(
                    context.team_id,
                    context.enterprise_id,
                    org_wide=bool(context.is_enterprise_install),
                )

    if home is not None:

        @app.event("app_home_opened")
        async def on_app_home_opened(
            body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
            context: AsyncBoltContext,
        ) -> None:  # fmt: skip
            await home.opened(body, event, client, context.bot_user_id)

    @app.action(buttons.STOP)
    async def on_stop(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        press = Press.of(body)
        stop = buttons.read_stop(press.value) if press else None
        if press is None or stop is None:
            return
        turn_key, asker = stop
        if press.user != asker:
            await press.tell(client, f"Only <@{asker}> can stop this answer.")
        elif stops.stop(turn_key, press.user):
            return  # it streams here: stopped
        elif await store.answered(turn_key):
            await press.tell(client, ALREADY_FINISHED)
        else:
            # Maybe it streams on another worker: the Stop goes to all of them, and the
            # one that stops it answers back. No answer in time means none could act on
            # it (its worker is gone or hung, or the connection that carries Stops is
            # down); unless the answer has meanwhile finished, the presser hears so.
            # Silence is never the reply to a Stop that did nothing.
            reached = await store.stop_elsewhere(turn_key, press.user, STOP_REACH_SECONDS)
            if reached is None:  # one process: not under way here, so not under way
                await press.tell(client, ALREADY_FINISHED)
            elif not reached and not await store.answered(turn_key):
                log.info("a Stop reached no worker streaming its answer")
                await press.tell(client, NOT_REACHED)

    @app.action(re.compile(f"^({buttons.FEEDBACK_UP}|{buttons.FEEDBACK_DOWN})$"))
    async def on_feedback(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        press = Press.of(body)
        if press is None or press.action_id not in buttons.VOTES or not press.value:
            return
        await store.record_feedback(
            response_id=press.value, team_id=press.team, channel_id=press.channel,
            message_ts=press.message_ts, user_id=press.user, vote=buttons.VOTES[press.action_id],
        )  # fmt: skip
        # Rewritten from the blocks Slack sent: without them, the answer would be lost.
        if buttons.shows_feedback(press.blocks):
            up, down = await store.feedback_counts(press.value)
            blocks = buttons.with_feedback_counts(press.blocks, press.value, up, down)
            try:
                await client.chat_update(
                    channel=press.channel, ts=press.message_ts, blocks=blocks, text=press.text
                )
            except SlackApiError as error:
                log.info("could not show the feedback counts (%s)", slack_error(error))
        await press.tell(client, "Thanks for the feedback!")

    @app.command("/ask")
    async def on_ask(ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
        turn = turn_from_command(command)
        if not turn.text:
            await ack(text=notices.ASK_USAGE, response_type="ephemeral")  # the asker alone
            return
        await ack()
        response_url = str(command.get("response_url") or "")
        org = context.enterprise_id
        try:
            delivery = await deliveries.for_ask(turn, response_url, enterprise_id=org)
        except NotInstalled:
            log.info("skipping a command from a workspace without the app installed")
            return
        async with queue.intake():
            if await accept(turn, deliveries.route(response_url, enterprise_id=org)):
                queue.submit(turn, delivery)

    if settings_modal is not None:
        register_settings(app, settings_modal)
    if approvals is not None:
        approval_presses.listen(app, approvals, accept=accept, queue=queue, deliveries=deliveries)

    # Everything else is acknowledged, so Slack does not retry it.
    async def ignore(ack: AsyncAck) -> None:
        await ack()

    app.event(re.compile(".*"))(ignore)
    app.action(re.compile(".*"))(ignore)
    app.shortcut(re.compile(".*"))(ignore)
    app.view(re.compile(".*"))(ignore)
    return app
