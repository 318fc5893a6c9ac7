"""One running bot: everything it owns, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.access import AllowLists
from bot.conversation.answer import Conversation, Options
from bot.conversation.approvals import Approvals
from bot.conversation.budgets import DailyBudgets
from bot.conversation.channel_settings import ChannelSettings
from bot.conversation.parameters import Parameters
from bot.conversation.policy import Policies
from bot.conversation.queue import TurnQueue
from bot.conversation.resumer import Resumer
from bot.conversation.stops import Stops
from bot.metrics import CONTENT_TYPE, Metrics
from bot.responses.client import ResponsesClient
from bot.responses.endpoint_check import check_endpoint
from bot.settings import Settings, names
from bot.slack.app import build_app
from bot.slack.approval_desk import SlackApprovalDesk
from bot.slack.assistant import AssistantPanel, read_prompts
from bot.slack.budget import MemoryLedger, SlackBudget
from bot.slack.call_counter import CountCalls
from bot.slack.calls import Persistence, RepeatSafely
from bot.slack.deliveries import Deliveries
from bot.slack.file_reader import SlackFiles
from bot.slack.history import SlackThreads
from bot.slack.home import AppHome, HomeTabs
from bot.slack.http import dispatch
from bot.slack.install import add_routes, install_flow
from bot.slack.people import SlackPeople
from bot.slack.refusals import Refusals
from bot.slack.settings_modal import SettingsModal
from bot.slack.workspaces import ManyWorkspaces, OneWorkspace, Workspaces
from bot.store import Store
from bot.store.approvals import ApprovalStore
from bot.store.channel_settings import ChannelSettingsStore
from bot.store.health import DatabaseHealth
from bot.store.installations import Installations, OAuthStates
from bot.store.live import LiveAnswers
from bot.store.opening import CannotOpen, open_store
from bot.store.slack_calls import SlackCallLedger
from bot.store.usage import UsageStore
from bot.tools.functions import FunctionsError, load

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger(__name__)

SEEN_KEPT = timedelta(days=2)  # Slack retries for minutes; two days is ample
HEARD_KEPT = timedelta(days=7)  # what people said in a thread the bot was not asked in again


def answer_options(settings: Settings) -> Options:
    """What every answer asks of the model; BOT_FUNCTIONS are imported here, so one that
    cannot be used stops the start (StartupError, one line naming it)."""
    try:
        functions = load(names(settings.BOT_FUNCTIONS))
    except FunctionsError as error:
        raise StartupError(str(error)) from None
    parameters = replace(Parameters.from_settings(settings), functions=functions.definitions)
    return Options(
        parameters=parameters,
        functions=functions,
        max_tool_rounds=settings.BOT_MAX_TOOL_ROUNDS,
        max_question_chars=settings.BOT_MAX_QUESTION_CHARS,
        context_management=settings.OPENAI_CONTEXT_MANAGEMENT,
        compact_threshold=settings.OPENAI_COMPACT_THRESHOLD,
        background=settings.OPENAI_BACKGROUND,
        final_retry_after=settings.BOT_FINAL_WRITE_SECONDS,
        max_file_bytes=int(settings.BOT_MAX_FILE_MB * 1024 * 1024),
    )


def daily_budgets(settings: Settings, usage: UsageStore) -> DailyBudgets:
    return DailyBudgets(
        usage,
        user_tokens=settings.BOT_USER_DAILY_TOKENS,
        workspace_tokens=settings.BOT_WORKSPACE_DAILY_TOKENS,
    )


def allow_lists(settings: Settings) -> AllowLists:
    return AllowLists(names(settings.BOT_ALLOWED_USERS), names(settings.BOT_ALLOWED_CHANNELS))


class StartupError(Exception):
    """The bot cannot start; the message is one line for the operator."""


@contextlib.contextmanager
def slack_must_accept(token_setting: str) -> Iterator[None]:
    """Slack refusing a token, or out of reach, at start: one line naming the setting."""
    try:
        yield
    except SlackApiError as error:
        code = error.response.get("error", "unknown error")
        raise StartupError(f"Slack refused {token_setting} ({code}).") from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise StartupError(
            f"Cannot reach Slack at SLACK_API_URL ({type(error).__name__})."
        ) from None


class Bot:
    def __init__(self) -> None:
        self.port = 0
        self.ready = False
        self._store: Store | None = None
        self._session: aiohttp.ClientSession | None = None
        self._model: ResponsesClient | None = None
        self._queue: TurnQueue | None = None
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self._resumer: asyncio.Task[None] | None = None
        self._approvals: asyncio.Task[None] | None = None
        self._live: LiveAnswers | None = None
        self._grace = 0.0
        self.metrics = Metrics()  # this bot's own registry: several bots may share a process
        self._refusals = Refusals(self.metrics.rejected)
        self._health: DatabaseHealth | None = None

    @classmethod
    async def start(cls, settings: Settings, host: str = "0.0.0.0") -> Bot:
        bot = cls()
        try:
            await bot._start(settings, host)
        except BaseException:
            await bot.stop()
            raise
        return bot

    async def _start(self, settings: Settings, host: str) -> None:
        try:
            self._store = await open_store(
                settings.DATABASE_URL, connections=settings.BOT_DATABASE_CONNECTIONS
            )
        except CannotOpen as error:
            raise StartupError(str(error)) from error
        self._health = DatabaseHealth(self._store)
        self._session = session = aiohttp.ClientSession()

        def slack_client(token: str | None) -> AsyncWebClient:
            # One shared session: slack_sdk otherwise opens a connection per call. Its
            # retry on a dropped connection is kept, but not for posts: one Slack carried
            # out would show twice (bot/slack/calls.py looks before posting again).
            # CountCalls first: it sees every attempt of every call, and never retries.
            return AsyncWebClient(
                token=token,
                base_url=settings.SLACK_API_URL,
                session=session,
                retry_handlers=[CountCalls(self.metrics.slack_call), RepeatSafely()],
            )

        workspaces: Workspaces
        install: AsyncOAuthFlow | None = None
        if settings.oauth:
            # Many workspaces: each installs through OAuth; its token is in the database.
            client = slack_client(None)
            installations = Installations(self._store)
            install = install_flow(settings, installations, OAuthStates(self._store), client)
            rotator = AsyncTokenRotator(
                client_id=settings.SLACK_CLIENT_ID,
                client_secret=settings.SLACK_CLIENT_SECRET,
                client=client,
            )
            workspaces = ManyWorkspaces(installations, slack_client, rotator)
        else:
            client = slack_client(settings.SLACK_BOT_TOKEN)
            workspaces = OneWorkspace(client, await self._who_am_i(client))
        self._model = ResponsesClient(
            settings.OPENAI_BASE_URL,
            settings.OPENAI_API_KEY,
            idle_timeout=settings.OPENAI_IDLE_TIMEOUT,
            max_connections=settings.BOT_MAX_CONCURRENT_ANSWERS + 8,
        )
        await self._check_model(settings.OPENAI_BASE_URL)
        stops = Stops()
        await self._store.on_stop(stops.stop)  # Stop pressed where another worker got it
        self._grace = settings.BOT_SHUTDOWN_GRACE
        lease = timedelta(seconds=settings.BOT_ANSWER_LEASE)
        self._live = live = self._store.live(lease=lease)
        if self._store.one_process:
            # SQLite has one worker: answers under way now were left by an earlier run.
            await live.expire_all()
        options = answer_options(settings)
        kept_settings = ChannelSettingsStore(self._store)
        channel_settings = ChannelSettings(kept_settings)
        budgets = daily_budgets(settings, UsageStore(self._store))
        # One Slack budget per workspace: kept in the database when workers share it.
        slack_budget = SlackBudget(
            SlackCallLedger(self._store) if self._store.shared else MemoryLedger()
        )
        approvals = Approvals(
            ApprovalStore(self._store),
            SlackApprovalDesk(workspaces, slack_budget),
            ttl=timedelta(minutes=settings.BOT_APPROVAL_MINUTES),
        )
        conversation = Conversation(
            self._store,
            self._model,
            options,
            SlackThreads(workspaces, self._store),
            stops,
            live,
            files=SlackFiles(workspaces, self._session, settings.SLACK_API_URL),
            # Asked in this order once per turn, before the model: who may ask, with which
            # parameters (later policies see what the ones before admitted), how much.
            policy=Policies(allow_lists(settings), channel_settings, budgets),
            time_zones=SlackPeople(workspaces),
            approvals=approvals,
            recorder=self.metrics,
        )
        settings_modal = SettingsModal(
            kept_settings, channel_settings, options.parameters, set(names(settings.BOT_ADMINS))
        )
        home = AppHome(
            UsageStore(self._store),
            budgets,
            model=settings.OPENAI_MODEL,
            admins=names(settings.BOT_ADMINS),
            channel_settings=kept_settings.of_workspace,
        )
        panel = AssistantPanel(self._store, read_prompts(settings.BOT_SUGGESTED_PROMPTS))
        self._queue = TurnQueue(
            conversation.answer,
            conversation.turn_away,
            max_running=settings.BOT_MAX_CONCURRENT_ANSWERS,
        )
        deliveries = Deliveries(
            workspaces,
            self._session,
            mode=settings.BOT_STREAM_MODE,
            interval=settings.BOT_UPDATE_INTERVAL,
            panel=panel,
            final_write=Persistence(seconds=settings.BOT_FINAL_WRITE_SECONDS),
            budget=slack_budget,
        )
        resumer = Resumer(
            live, conversation, self._queue, deliveries.restore, period=lease.total_seconds() / 3
        )
        app = build_app(
            workspaces,
            client,
            signing_secret=settings.SLACK_SIGNING_SECRET,
            socket_mode=settings.socket_mode,
            accept=conversation.accept,
            queue=self._queue,
            deliveries=deliveries,
            stops=stops,
            store=self._store,
            panel=panel,
            settings_modal=settings_modal,
            home=HomeTabs(
                home=home.show,
                messages=lambda opened: panel.messages_opened(opened.event, opened.client),
            ),
            approvals=approvals,
            install=install,
        )
        self._housekeeping = asyncio.create_task(self._forget_old_rows())
        self._resumer = asyncio.create_task(resumer.run())
        self._approvals = asyncio.create_task(approvals.run())
        # Socket Mode still listens on PORT, for /healthz: platforms check a web process.
        await self._serve_http(
            None if settings.socket_mode else app, host, settings.PORT, install=install
        )
        if settings.socket_mode:
            await self._serve_socket_mode(app, settings.SLACK_APP_TOKEN)
        self.ready = True
        log.info(
            "bot ready: %s%s on port %s, stream mode %s, model %s",
            "socket mode, /healthz and /metrics" if settings.socket_mode else "HTTP",
            ", installs through OAuth at /slack/install" if install else "",
            self.port,
            settings.BOT_STREAM_MODE,
            settings.OPENAI_MODEL,
        )

    async def _check_model(self, base_url: str) -> None:
        """A wrong OPENAI_BASE_URL or a refused key stops the start here, with one line:
        otherwise the bot would start, and every answer would fail."""
        assert self._model is not None
        finding = await check_endpoint(self._model, base_url)
        if finding is not None and finding.stops:
            raise StartupError(finding.line)
        if finding is not None:
            log.warning("%s", finding.line)

    @staticmethod
    async def _who_am_i(client: AsyncWebClient) -> str | None:
        with slack_must_accept("SLACK_BOT_TOKEN"):
            auth = await client.auth_test()
        user_id = auth.get("user_id")
        return str(user_id) if user_id else None

    async def _serve_http(
        self, app: AsyncApp | None, host: str, port: int, *, install: AsyncOAuthFlow | None = None
    ) -> None:
        """`/healthz`, `/metrics`, Slack's requests at `/slack/events` unless `app` is None,
        and the OAuth install flow's two pages with `install`."""

        async def events(request: web.Request) -> web.Response:
            assert app is not None
            return await dispatch(app, request, self._refusals)

        async def healthz(_: web.Request) -> web.Response:
            database = self._health is not None and await self._health.answers()
            ok = self.ready and database
            body = {"ok": ok, "ready": self.ready, "database": database}
            return web.json_response(body, status=200 if ok else 503)

        async def metrics(_: web.Request) -> web.Response:
            return web.Response(
                body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE}
            )

        web_app = web.Application(client_max_size=1024**2)
        if app is not None:
            web_app.router.add_post("/slack/events", events)
        web_app.router.add_get("/healthz", healthz)
        web_app.router.add_get("/metrics", metrics)
        if install is not None:
            add_routes(web_app, install)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except OSError as error:
            raise StartupError(f"Cannot listen on PORT {port}: {error.strerror}.") from None
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port

    async def _serve_socket_mode(self, app: AsyncApp, app_token: str) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        # app.client: apps.connections.open goes to SLACK_API_URL on the shared session.
        handler = AsyncSocketModeHandler(app, app_token, web_client=app.client)
        self._socket = handler  # from here on, stop() closes it
        # Asked here once so a refused app token stops the start with one clear line:
        # left to connect(), it is retried every 10 seconds, forever.
        with slack_must_accept("SLACK_APP_TOKEN"):
            handler.client.wss_uri = await handler.client.issue_new_wss_url()
        await handler.connect_async()  # type: ignore[no-untyped-call]

    async def _forget_old_rows(self) -> None:
        """Hourly: drop seen-message keys and heard texts past their time."""
        assert self._store is not None
        while True:
            try:
                await self._store.forget_seen(SEEN_KEPT)
                await self._store.forget_heard(HEARD_KEPT)
            except Exception as error:  # the database may be briefly away; try next hour
                log.warning("housekeeping failed: %s", type(error).__name__)
            await asyncio.sleep(3600)

    async def idle(self) -> None:
        """Return once no answer is queued or running."""
        if self._queue is not None:
            await self._queue.idle()

    async def stop(self, grace: float | None = None) -> None:
        """Take no new work, give answers under way `grace` seconds (BOT_SHUTDOWN_GRACE) to
        finish, and leave the rest, running or waiting, to the next start."""
        self.ready = False
        if self._runner is not None:
            await self._runner.cleanup()
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        for task in (self._resumer, self._housekeeping, self._approvals):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._queue is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.idle(), self._grace if grace is None else grace)
            await self._queue.close()
        if self._live is not None:
            try:
                left = await self._live.release()
            except Exception as error:  # their leases run out instead
                log.warning("could not hand over unfinished answers: %s", type(error).__name__)
            else:
                if left:
                    log.info("left %d unfinished answer(s) for the next start", left)
        if self._health is not None:
            await self._health.close()
        if self._model is not None:
            await self._model.aclose()
        if self._session is not None:
            await self._session.close()
        if self._store is not None:
            await self._store.close()
