"""One running bot: everything it owns, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.answer import Conversation, Options
from bot.conversation.parameters import Parameters
from bot.conversation.queue import TurnQueue
from bot.conversation.resumer import Resumer
from bot.conversation.stops import Stops
from bot.responses.client import ResponsesClient
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.assistant import AssistantPanel, read_prompts
from bot.slack.budget import MemoryLedger, SlackBudget
from bot.slack.calls import Persistence, RepeatSafely
from bot.slack.deliveries import Deliveries
from bot.slack.history import SlackThreads
from bot.slack.http import dispatch
from bot.slack.install import add_routes, install_flow
from bot.slack.workspaces import ManyWorkspaces, OneWorkspace, Workspaces
from bot.store import Store
from bot.store.installations import Installations, OAuthStates
from bot.store.live import LiveAnswers
from bot.store.slack_calls import SlackCallLedger

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger(__name__)

SEEN_KEPT = timedelta(days=2)  # Slack retries for minutes; two days is ample
HEARD_KEPT = timedelta(days=7)  # what people said in a thread the bot was not asked in again


def answer_options(settings: Settings) -> Options:
    return Options(
        parameters=Parameters.from_settings(settings),
        max_question_chars=settings.BOT_MAX_QUESTION_CHARS,
        context_management=settings.OPENAI_CONTEXT_MANAGEMENT,
        compact_threshold=settings.OPENAI_COMPACT_THRESHOLD,
        background=settings.OPENAI_BACKGROUND,
        final_retry_after=settings.BOT_FINAL_WRITE_SECONDS,
    )


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
        self._live: LiveAnswers | None = None
        self._grace = 0.0

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
            self._store = await Store.open(
                settings.DATABASE_URL, connections=settings.BOT_DATABASE_CONNECTIONS
            )
        except Exception as error:
            raise StartupError(
                f"Cannot open the database at DATABASE_URL: {type(error).__name__}"
            ) from error
        self._session = session = aiohttp.ClientSession()

        def slack_client(token: str | None) -> AsyncWebClient:
            # One shared session: slack_sdk otherwise opens a connection per call. Its
            # retry on a dropped connection is kept, but not for posts: one Slack carried
            # out would show twice (bot/slack/calls.py looks before posting again).
            return AsyncWebClient(
                token=token,
                base_url=settings.SLACK_API_URL,
                session=session,
                retry_handlers=[RepeatSafely()],
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
        stops = Stops()
        await self._store.on_stop(stops.stop)  # Stop pressed where another worker got it
        self._grace = settings.BOT_SHUTDOWN_GRACE
        lease = timedelta(seconds=settings.BOT_ANSWER_LEASE)
        self._live = live = self._store.live(lease=lease)
        if self._store.one_process:
            # SQLite has one worker: answers under way now were left by an earlier run.
            await live.expire_all()
        conversation = Conversation(
            self._store,
            self._model,
            answer_options(settings),
            SlackThreads(workspaces, self._store),
            stops,
            live,
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
            # One Slack budget per workspace: kept in the database when workers share it.
            budget=SlackBudget(
                SlackCallLedger(self._store) if self._store.shared else MemoryLedger()
            ),
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
            install=install,
        )
        self._housekeeping = asyncio.create_task(self._forget_old_rows())
        self._resumer = asyncio.create_task(resumer.run())
        # Socket Mode still listens on PORT, for /healthz: platforms check a web process.
        await self._serve_http(
            None if settings.socket_mode else app, host, settings.PORT, install=install
        )
        if settings.socket_mode:
            await self._serve_socket_mode(app, settings.SLACK_APP_TOKEN)
        self.ready = True
        log.info(
            "bot ready: %s%s on port %s, stream mode %s, model %s",
            "socket mode, /healthz" if settings.socket_mode else "HTTP",
            ", installs through OAuth at /slack/install" if install else "",
            self.port,
            settings.BOT_STREAM_MODE,
            settings.OPENAI_MODEL,
        )

    @staticmethod
    async def _who_am_i(client: AsyncWebClient) -> str | None:
        with slack_must_accept("SLACK_BOT_TOKEN"):
            auth = await client.auth_test()
        user_id = auth.get("user_id")
        return str(user_id) if user_id else None

    async def _serve_http(
        self, app: AsyncApp | None, host: str, port: int, *, install: AsyncOAuthFlow | None = None
    ) -> None:
        """`/healthz`, Slack's requests at `/slack/events` unless `app` is None, and the
        OAuth install flow's two pages with `install`."""

        async def events(request: web.Request) -> web.Response:
            assert app is not None
            return await dispatch(app, request)

        async def healthz(_: web.Request) -> web.Response:
            return web.json_response({"ok": self.ready}, status=200 if self.ready else 503)

        web_app = web.Application(client_max_size=1024**2)
        if app is not None:
            web_app.router.add_post("/slack/events", events)
        web_app.router.add_get("/healthz", healthz)
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
        for task in (self._resumer, self._housekeeping):
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
        if self._model is not None:
            await self._model.aclose()
        if self._session is not None:
            await self._session.close()
        if self._store is not None:
            await self._store.close()
