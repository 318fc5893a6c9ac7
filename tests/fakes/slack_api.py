"""A fake Slack Web API served by aiohttp on 127.0.0.1 (random port).

Point slack_sdk at it with `AsyncWebClient(base_url=fake.url)`. It records every
call, keeps a model of the messages a person would see, and injects faults
(`ok: false` errors, 429s, arbitrary responses) queued per method. It can also
carry a call out and then lose its answer (`lose_answer`: the connection drops,
or the answer comes too late), and refuse Markdown blocks from some call on
(`refuse_markdown`), as Slack does part-way through a long answer.
With `enforce_tiers=True` it also enforces Slack's rate limits per workspace and
method (`TIERS`): a call over its tier is answered 429 with `Retry-After`.

It hosts the files people attach (`files`, see `slack_files.py`): served at
their `url_private_download` URLs on the same server, with `files.info`.

Native streams take `chunks` as Slack does: `markdown_text`, `blocks`, and task
cards (`task_update`: `id`, `title`, `status` pending/in_progress/complete/error,
optional `details`, `output`, `sources`; kept per message by id in `tasks`, updated
in place, every update in `task_updates`) and `plan_update` (its `title`). A
malformed chunk is refused with `invalid_chunks`, as Slack refuses it.

Files go in as `files_upload_v2` sends them: `files.getUploadURLExternal` hands
out an upload URL on the same port, the bytes are POSTed there, and
`files.completeUploadExternal` shares them into a channel or thread
(`uploads`, `thread_files`). Faults for the upload URL itself are injected as method
`upload`.

Installing in many workspaces (opt-in, `installs`, see `slack_oauth.py`): Slack's
authorize page at `/oauth/v2/authorize`, `oauth.v2.access` (code exchange and
token refresh), and once a workspace is added (`add_workspace`), every call's
token checked: each workspace's own, or the call fails as Slack's would.

It is also Socket Mode's server: `apps.connections.open` (app token only) hands
out a `ws://` URL on the same port, where the fake says `hello` as Slack does,
pushes envelopes (`socket_send`) and records what the app sends back
(`socket_acks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.slack_files import FakeFiles
from tests.fakes.slack_oauth import FakeInstalls, FakeWorkspace, token_in

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"


@dataclass(frozen=True)
class Tier:
    """At most `calls` in any `seconds`, per workspace (per channel too, if `per_channel`)."""

    calls: int
    seconds: float
    per_channel: bool = False


# The calls that post, stream or edit an answer's message.
MESSAGE_CALLS = (
    "chat.postMessage",
    "chat.update",
    "chat.startStream",
    "chat.appendStream",
    "chat.stopStream",
)

# Slack's published limits, as a sliding window (each allows a burst of its whole size).
TIERS: dict[str, Tier] = {
    "chat.update": Tier(50, 60),  # Tier 3
    "chat.postMessage": Tier(10, 10, per_channel=True),  # about 1 a second per channel
    "chat.startStream": Tier(20, 60),  # Tier 2
    "chat.stopStream": Tier(20, 60),  # Tier 2
    "chat.appendStream": Tier(100, 60),  # Tier 4
}

# conversations.replies for apps outside the Marketplace (since 2025): one call a
# minute, 15 messages a page (`replies_page_size`).
REPLIES_OUTSIDE_MARKETPLACE = Tier(1, 60)

# Form-encoded arguments that carry JSON (slack_sdk serialises them this way).
_JSON_ARGS = frozenset(
    {"blocks", "attachments", "metadata", "chunks", "prompts", "user_ids", "view", "files"}
)


@dataclass
class Call:
    """One request the fake received, as the bot sent it."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival
    outcome: str = "ok"  # "ok", or the error string / "http <status>" it was answered with
    status: int = 200
    http_method: str = "POST"

    @property
    def ok(self) -> bool:
        """True when the call was answered with `ok: true`."""
        return self.outcome == "ok"

    @property
    def token(self) -> str:
        """The token the call carried ("" for none)."""
        return token_in(self.headers, self.args)


@dataclass
class Message:
    """A bot message as a person sees it, with its edit history."""

    channel: str
    ts: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None  # chat.postMessage's `metadata`, as posted
    history: list[str] = field(default_factory=list)  # every visible version, oldest first
    created_by: str = "chat.postMessage"
    team: str = TEAM_ID  # the workspace whose token posted it
    user: str = BOT_USER_ID  # the bot user there
    streaming: bool = False
    stopped: bool = False
    deleted: bool = False
    # A stream's task cards by id, as Slack shows them now (title, status, details …),
    # every task_update received in order, the plan's title, and `task_display_mode`.
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_updates: list[dict[str, Any]] = field(default_factory=list)
    plan_title: str | None = None
    task_display_mode: str = "timeline"

    @property
    def visible(self) -> str:
        """What Slack shows: the blocks' text when they have some, else `text`."""
        if self.deleted:
            return ""
        from_blocks = blocks_text(self.blocks or [])
        return from_blocks if from_blocks else self.text

    @property
    def edits(self) -> int:
        """How many times the visible text changed after the message was created."""
        return max(len(self.history) - 1, 0)

    def _remember(self) -> None:
        if not self.history or self.history[-1] != self.visible:
            self.history.append(self.visible)


@dataclass
class SlackFile:
    """A file uploaded through an upload URL, and where it was shared."""

    id: str
    name: str
    length: int  # as announced to files.getUploadURLExternal
    title: str = ""
    alt: str = ""  # alt_txt, as announced to files.getUploadURLExternal
    content: bytes | None = None  # None until its bytes are POSTed to the upload URL
    channel: str | None = None  # set once files.completeUploadExternal shared it
    thread_ts: str | None = None

    @property
    def shared(self) -> bool:
        return self.channel is not None


@dataclass
class _Fault:
    status: int
    body: Any
    headers: dict[str, str]
    delay: float = 0.0


@dataclass
class _LostAnswer:
    """Carry the call out, then drop the connection (`late` None) or answer `late` s later."""

    late: float | None = None


@dataclass
class _MarkdownRefusal:
    """Calls of `method` carrying a markdown block from the `from_call`-th on: invalid_blocks."""

    method: str
    from_call: int
    seen: int = 0


def blocks_text(blocks: Iterable[dict[str, Any]]) -> str:
    """The readable text of Block Kit blocks (markdown, section, header, context, rich_text)."""
    parts: list[str] = []

    def text_of(obj: Any) -> str:
        if isinstance(obj, str):
            return obj
        if isinstance(obj, dict):
            if isinstance(obj.get("text"), str | dict):
                return text_of(obj["text"])
            if isinstance(obj.get("elements"), list):
                return "".join(text_of(e) for e in obj["elements"])
        return ""

    for block in blocks:
        kind = block.get("type")
        if kind in ("markdown", "header", "section"):
            text = text_of(block.get("text", ""))
            fields = [text_of(f) for f in block.get("fields", []) or []]
            parts.append("\n".join(p for p in [text, *fields] if p))
        elif kind in ("context", "rich_text"):
            sep = " " if kind == "context" else ""
            parts.append(sep.join(text_of(e) for e in block.get("elements", []) or []))
    return "\n".join(p for p in parts if p)


def _is_json(value: str) -> bool:
    return value[:1] in ("[", "{")


class FakeSlack:
    """Fake Slack Web API: `POST|GET /api/<method>` and `POST /response_url/<token>`."""

    def __init__(self, *, max_text_length: int | None = None, enforce_tiers: bool = False) -> None:
        self.calls: list[Call] = []
        # Rate limits per (team, method[, channel]); off unless asked for.
        self.tiers: dict[str, Tier] = dict(TIERS) if enforce_tiers else {}
        self._windows: dict[tuple[str, ...], deque[float]] = {}
        self.messages: dict[tuple[str, str], Message] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.uploads: dict[str, SlackFile] = {}  # by id, in the order they were announced
        self._file_ids = itertools.count(1)
        self.response_url_posts: list[dict[str, Any]] = []
        self.max_text_length = max_text_length  # when set, longer `text` gives msg_too_long
        self.replies_page_size = 1000  # conversations.replies page size (Slack: 15 for some)
        # With `latest` alone, a page is the most recent messages before it; False: the
        # range's oldest first, followed by cursor (Slack documents both for its time
        # ranges, so the bot is tested against both).
        self.replies_back_from_latest = True
        self._response_url_log: list[tuple[str, dict[str, Any]]] = []
        self._replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}  # modals opened (views.open), by view id
        self._faults: dict[str, deque[_Fault]] = {}
        self._lost: dict[str, deque[_LostAnswer]] = {}
        self._markdown_refusals: list[_MarkdownRefusal] = []
        self._ts = itertools.count(101)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._started_at = time.monotonic()
        # Socket Mode
        self.socket_acks: list[dict[str, Any]] = []  # every frame the app sent, parsed
        self.socket_connections = 0  # WebSockets opened so far
        self._sockets: list[web.WebSocketResponse] = []  # open ones, oldest first
        self._tickets: set[str] = set()  # issued by apps.connections.open, not used yet
        self._ticket_ids = itertools.count(1)
        # Files people attached, served on this server (see slack_files.py).
        self.files = FakeFiles(lambda: self.url.removesuffix("/api/"), self._changed.set)
        # Installs in many workspaces: nothing changes until a workspace is added.
        self.installs = FakeInstalls()
        self._caller: FakeWorkspace | None = None  # the workspace of the call being answered

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response_url/{token}", self._handle_response_url)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_get("/socket-mode/link", self._handle_socket)
        app.router.add_get("/files-pri/{owner}/{tail:.*}", self.files.serve)
        app.router.add_get("/oauth/v2/authorize", self._handle_authorize)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._started_at = time.monotonic()

    async def stop(self) -> None:
        """Close the server (and any Socket Mode connection)."""
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """Base URL for slack_sdk, ending with `/api/`."""
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._port}/api/"

    def response_url(self, token: str) -> str:
        """A `response_url` that records what is posted to it."""
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._port}/response_url/{token}"

    @property
    def authorize_url(self) -> str:
        """Slack's authorize page (beside `/api/`, as slack.com/oauth/v2/authorize is)."""
        return self.url.removesuffix("api/") + "oauth/v2/authorize"

    # -- scripting ---------------------------------------------------------

    def add_workspace(self, team_id: str, **options: Any) -> FakeWorkspace:
        """A workspace the app can be installed in (see `FakeInstalls.add`). From the
        first one on, every call's token must be one the fake issued."""
        return self.installs.add(team_id, **options)

    def set_replies(self, channel: str, thread_ts: str, messages: list[dict[str, Any]]) -> None:
        """Script what `conversations.replies` returns for that thread."""
        self._replies[(channel, thread_ts)] = list(messages)

    def set_user(self, user_id: str, **fields: Any) -> None:
        """Override fields of the user `users.info` returns (e.g. `is_admin=True`)."""
        self._users[user_id] = fields

    def inject(
        self,
        method: str,
        *,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` calls of `method` with this response (JSON body; a str
        body is sent as an HTML page, as a proxy in front of Slack may answer a 5xx)."""
        fault = _Fault(status, {"ok": True} if body is None else body, dict(headers or {}), delay)
        self._faults.setdefault(method, deque()).extend([fault] * times)

    def fail(self, method: str, error: str = "msg_too_long", *, times: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 200 `{"ok": false, "error": error}`."""
        self.inject(method, body={"ok": False, "error": error}, times=times)

    def rate_limit(self, method: str, retry_after: int = 1, *, times: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 429 with `Retry-After`."""
        self.inject(
            method,
            status=429,
            body={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": str(retry_after)},
            times=times,
        )

    def lose_answer(self, method: str, *, late: float | None = None, times: int = 1) -> None:
        """The next `times` calls of `method` are carried out, but their answer is lost:
        the connection drops (`late=None`), or the answer comes `late` seconds after
        (the client has timed out by then)."""
        self._lost.setdefault(method, deque()).extend([_LostAnswer(late)] * times)

    def refuse_markdown(self, method: str, *, from_call: int = 1) -> None:
        """Calls of `method` that carry a `markdown` block are refused with invalid_blocks
        from the `from_call`-th such call on (counted from now)."""
        self._markdown_refusals.append(_MarkdownRefusal(method, from_call))

    def enforce_tiers(self, tiers: dict[str, Tier] | None = None) -> None:
        """From now on, calls over Slack's rate limits (`TIERS`, or these) get 429."""
        self.tiers = dict(TIERS if tiers is None else tiers)

    def clear_faults(self) -> None:
        """Drop every fault not consumed yet."""
        self._faults.clear()
        self._lost.clear()
        self._markdown_refusals.clear()

    # -- Socket Mode -------------------------------------------------------

    @property
    def socket_connected(self) -> bool:
        """True while an app holds a Socket Mode WebSocket open."""
        return any(not socket.closed for socket in self._sockets)

    async def socket_send(self, frame: dict[str, Any], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Push one frame (an envelope, or e.g. `disconnect`) on the newest open socket."""
        await self.wait_for(lambda: self.socket_connected, timeout, "a Socket Mode connection")
        socket = [s for s in self._sockets if not s.closed][-1]
        await socket.send_json(frame)

    def socket_ack(self, envelope_id: str) -> dict[str, Any] | None:
        """The app's first acknowledgement of that envelope, or None so far."""
        return next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)

    def socket_acks_of(self, envelope_id: str) -> list[dict[str, Any]]:
        """Every acknowledgement of that envelope, in order."""
        return [a for a in self.socket_acks if a.get("envelope_id") == envelope_id]

    # -- inspection --------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method, in order."""
        return [c for c in self.calls if c.method == method]

    def rate_limited(self, method: str | None = None) -> list[Call]:
        """The calls answered HTTP 429 (of one method, or of all)."""
        return [c for c in self.calls if c.status == 429 and method in (None, c.method)]

    def message(self, channel: str, ts: str) -> Message:
        """The bot message at (channel, ts); KeyError if there is none."""
        return self.messages[(channel, ts)]

    def visible_text(self, channel: str, ts: str) -> str:
        """The text a person sees now in the message at (channel, ts)."""
        return self.message(channel, ts).visible

    def bot_messages(self, channel: str) -> list[Message]:
        """The bot's messages in a channel (threads included), oldest first, not deleted."""
        found = [m for m in self.messages.values() if m.channel == channel and not m.deleted]
        return sorted(found, key=lambda m: float(m.ts))

    def thread_messages(self, channel: str, thread_ts: str) -> list[Message]:
        """The bot's messages posted in that thread, oldest first."""
        return [m for m in self.bot_messages(channel) if m.thread_ts == thread_ts]

    def thread_text(self, channel: str, thread_ts: str) -> str:
        """The visible text of the bot's messages in a thread, joined by newlines."""
        return "\n".join(m.visible for m in self.thread_messages(channel, thread_ts))

    def thread_files(self, channel: str, thread_ts: str) -> list[SlackFile]:
        """The files shared into that thread, in the order they were shared."""
        return [
            f for f in self.uploads.values() if f.channel == channel and f.thread_ts == thread_ts
        ]

    def response_url_posts_to(self, token: str) -> list[dict[str, Any]]:
        """The payloads posted to one `response_url`."""
        return [payload for t, payload in self._response_url_log if t == token]

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline, not a cancel scope
        what: str = "",
    ) -> None:
        """Wait until `predicate()` holds; re-checked on every call (and every 50 ms)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                label = f" ({what})" if what else ""
                raise AssertionError(
                    f"FakeSlack.wait_for timed out after {timeout}s{label}.\n{self.summary()}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    def summary(self, last: int = 40) -> str:
        """A readable list of the last calls and the messages, for failure messages."""
        lines = [f"{len(self.calls)} call(s) to FakeSlack:"]
        if len(self.calls) > last:
            lines.append(f"  ... {len(self.calls) - last} earlier call(s) left out")
        for call in self.calls[-last:]:
            shown = {k: v for k, v in call.args.items() if k != "token"}
            args = ", ".join(f"{k}={_short(v)}" for k, v in shown.items())
            lines.append(
                f"  +{call.at - self._started_at:7.3f}s {call.method} [{call.outcome}] {args}"
            )
        for file in self.uploads.values():
            where = f"{file.channel}/{file.thread_ts}" if file.shared else "not shared"
            lines.append(f"  file {file.id} {file.name!r} ({file.length} bytes): {where}")
        lines.append(f"{len(self.messages)} message(s):")
        for m in sorted(self.messages.values(), key=lambda m: float(m.ts)):
            flags = " (deleted)" if m.deleted else ""
            lines.append(
                f"  {m.channel} ts={m.ts} thread_ts={m.thread_ts} edits={m.edits}{flags}: "
                f"{_short(m.visible, 160)}"
            )
        return "\n".join(lines)

    # -- HTTP handlers -----------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        method = request.match_info["method"]
        args = await _read_args(request)
        call = Call(method, args, dict(request.headers), arrived, http_method=request.method)
        late: float | None = None
        try:
            queue = self._faults.get(method)
            if queue:
                fault = queue.popleft()
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                call.status = fault.status
                call.outcome = _outcome(fault.status, fault.body)
                if isinstance(fault.body, str):
                    return web.Response(
                        text=fault.body,
                        status=fault.status,
                        headers=fault.headers,
                        content_type="text/html",
                    )
                return web.json_response(fault.body, status=fault.status, headers=fault.headers)
            wait = self._over_tier(method, args, arrived, call.token)
            if wait is not None:
                call.status, call.outcome = 429, "ratelimited"
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(wait)},
                )
            refused = self._refusal(method, request, args)
            if method == "oauth.v2.access":
                body: dict[str, Any] = self.installs.access(args, request.headers)
            elif not _has_token(request, args):
                body = {"ok": False, "error": "not_authed"}
            elif method == "apps.connections.open":
                body = self._connections_open(request)
            elif refused:
                body = {"ok": False, "error": refused}
            elif self._refuses_markdown(method, args):
                body = {"ok": False, "error": "invalid_blocks"}
            else:
                self._caller = self.installs.workspace_of(call.token)
                try:
                    body = self._answer(method, args)
                finally:
                    self._caller = None
            call.outcome = _outcome(200, body)
            lost = self._lost.get(method)
            if lost:
                late = lost.popleft().late
                if late is None:  # carried out; the client never hears of it
                    call.outcome = f"dropped after {call.outcome}"
                    if request.transport is not None:
                        request.transport.close()
                    return web.Response()  # nowhere to go: the connection is closed
                call.outcome = f"late after {call.outcome}"
                self._record(call)  # now: the answer comes too late to matter
        finally:
            if late is None:
                self._record(call)
        if late is not None:
            await asyncio.sleep(late)
        return web.json_response(body)

    def _refusal(self, method: str, request: web.Request, args: dict[str, Any]) -> str | None:
        """With workspaces added: why the call's token is refused, or None."""
        if not self.installs.checking or method in ("oauth.v2.access", "apps.connections.open"):
            return None
        return self.installs.refusal(token_in(request.headers, args), args)

    async def _handle_authorize(self, request: web.Request) -> web.StreamResponse:
        status, where = self.installs.authorize(request.query)
        self._changed.set()
        if status == 302:
            raise web.HTTPFound(where)
        return web.Response(status=status, text=f"<p>{where}</p>", content_type="text/html")

    def _refuses_markdown(self, method: str, args: dict[str, Any]) -> bool:
        blocks = args.get("blocks")
        if not isinstance(blocks, list) or not any(
            isinstance(b, dict) and b.get("type") == "markdown" for b in blocks
        ):
            return False
        refused = False
        for refusal in self._markdown_refusals:
            if refusal.method == method:
                refusal.seen += 1
                refused = refused or refusal.seen >= refusal.from_call
        return refused

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        try:
            payload = await request.json()
        except ValueError:
            payload = {"_raw": await request.text()}
        self.response_url_posts.append(payload)
        self._response_url_log.append((token, payload))
        self._changed.set()
        return web.json_response({"ok": True})

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        """An upload URL: takes the file's bytes as the request body (no token needed)."""
        file_id = request.match_info["file_id"]
        content = await request.read()
        args = {"file_id": file_id, "bytes": len(content)}
        call = Call("upload", args, dict(request.headers), time.monotonic())
        try:
            queue = self._faults.get("upload")
            if queue:
                fault = queue.popleft()
                call.status, call.outcome = fault.status, f"http {fault.status}"
                return web.Response(text="error", status=fault.status, content_type="text/plain")
            file = self.uploads.get(file_id)
            if file is None:
                call.status, call.outcome = 404, "http 404"
                return web.Response(text="not found", status=404, content_type="text/plain")
            file.content = content
            return web.Response(text=f"OK - {len(content)}", content_type="text/plain")
        finally:
            self._record(call)

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self._tickets.discard(ticket)  # a URL is good for one connection, as in Slack
        socket = web.WebSocketResponse()  # answers the client's pings with pongs
        await socket.prepare(request)
        self._sockets.append(socket)
        self.socket_connections += 1
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {
                    "host": "fake",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": "A1"},
            }
        )
        self._changed.set()
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                try:
                    parsed = json.loads(frame.data)
                except ValueError:
                    parsed = {"_raw": frame.data}
                self.socket_acks.append(parsed if isinstance(parsed, dict) else {"_raw": parsed})
                self._changed.set()
        finally:
            self._sockets.remove(socket)
            self._changed.set()
        return socket

    def _over_tier(
        self, method: str, args: dict[str, Any], at: float, token: str = ""
    ) -> int | None:
        """None when the call fits its tier (it is counted then); else Retry-After seconds.

        Each workspace has its own budget (every token belongs to TEAM_ID until
        workspaces are added); a refused call does not count.
        """
        tier = self.tiers.get(method)
        if tier is None:
            return None
        caller = self.installs.workspace_of(token)
        key = (
            caller.team_id if caller else TEAM_ID,
            method,
            str(args.get("channel", "")) if tier.per_channel else "",
        )
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= at - tier.seconds:
            window.popleft()
        if len(window) < tier.calls:
            window.append(at)
            return None
        return max(1, math.ceil(window[0] + tier.seconds - at))

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    # -- method behaviour --------------------------------------------------

    def _new_ts(self) -> str:
        n = next(self._ts)
        return f"{1_700_000_000 + n // 1_000_000}.{n % 1_000_000:06d}"

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = _METHODS.get(method)
        return handler(self, args) if handler else {"ok": True}

    def _too_long(self, args: dict[str, Any]) -> bool:
        text = args.get("text")
        limit = self.max_text_length
        return limit is not None and isinstance(text, str) and len(text) > limit

    def _connections_open(self, request: web.Request) -> dict[str, Any]:
        if not request.headers.get("Authorization", "").startswith("Bearer xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        ticket = f"ticket-{next(self._ticket_ids)}"
        self._tickets.add(ticket)
        url = f"ws://127.0.0.1:{self._port}/socket-mode/link?ticket={ticket}&app_id=A1"
        return {"ok": True, "url": url}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._caller is not None:
            return self.installs.auth_test(self._caller)
        return {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": "Test",
            "user": "bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if self._too_long(args):
            return {"ok": False, "error": "msg_too_long"}
        text = args.get("text") or args.get("markdown_text") or ""
        thread_ts = args.get("thread_ts") or None
        message = Message(
            channel, self._new_ts(), str(text), args.get("blocks"), thread_ts and str(thread_ts)
        )
        self._sign(message)
        metadata = args.get("metadata")
        message.metadata = metadata if isinstance(metadata, dict) else None
        message._remember()
        self.messages[(channel, message.ts)] = message
        return {"ok": True, "channel": channel, "ts": message.ts, "message": _wire(message)}

    def _sign(self, message: Message) -> None:
        """The message is the calling workspace's bot's."""
        if self._caller is not None:
            message.team = self._caller.team_id
            message.user = self._caller.bot_user_id

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((str(args.get("channel", "")), str(args.get("ts", ""))))
        if message is None or message.deleted:
            return {"ok": False, "error": "message_not_found"}
        if self._too_long(args):
            return {"ok": False, "error": "msg_too_long"}
        new_text = args.get("text") or args.get("markdown_text")
        if new_text is not None:
            message.text = str(new_text)
        if "blocks" in args:  # as in Slack: blocks left out are kept, [] removes them
            message.blocks = args["blocks"] or None
        message._remember()
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((str(args.get("channel", "")), str(args.get("ts", ""))))
        if message is None or message.deleted:
            return {"ok": False, "error": "message_not_found"}
        message.deleted = True
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = self._new_ts()
        self.ephemerals.append({**args, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _start_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        mode = args.get("task_display_mode", "timeline")
        if mode not in ("timeline", "plan"):
            return {"ok": False, "error": "invalid_arguments"}
        if not _valid_chunks(args.get("chunks")):
            return {"ok": False, "error": "invalid_chunks"}
        thread_ts = args.get("thread_ts") or None
        message = Message(
            channel,
            self._new_ts(),
            _stream_text(args),
            _stream_blocks(args) or None,
            thread_ts=thread_ts and str(thread_ts),
            created_by="chat.startStream",
            streaming=True,
            task_display_mode=str(mode),
        )
        _apply_tasks(message, args)
        self._sign(message)
        message._remember()
        self.messages[(channel, message.ts)] = message
        return {"ok": True, "channel": channel, "ts": message.ts}

    def _append_stream(self, args: dict[str, Any], *, stop: bool = False) -> dict[str, Any]:
        message = self.messages.get((str(args.get("channel", "")), str(args.get("ts", ""))))
        if message is None or message.deleted:
            return {"ok": False, "error": "message_not_found"}
        if not message.streaming:
            return {"ok": False, "error": "message_not_in_streaming_state"}
        if not _valid_chunks(args.get("chunks")):
            return {"ok": False, "error": "invalid_chunks"}
        _apply_tasks(message, args)
        message.text += _stream_text(args)
        if _stream_blocks(args):
            message.blocks = (message.blocks or []) + _stream_blocks(args)
        if stop:
            if args.get("blocks"):
                message.blocks = args["blocks"]
            message.streaming = False
            message.stopped = True
        message._remember()
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _stop_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._append_stream(args, stop=True)

    def _replies_of(self, args: dict[str, Any]) -> dict[str, Any]:
        """Oldest first, `replies_page_size` a page (as Slack caps some apps at 15),
        within `oldest` and `latest` (`inclusive` or not). With `latest` alone, the page
        is the most recent messages before it (still oldest first), and `has_more` says
        older ones are left: reading from the recent end, a page at a time.

        A thread scripted with `set_replies` answers with that script; any other
        thread with the bot's own messages in it (after `oldest`, if given), their
        `metadata` included when `include_all_metadata` is asked for, as Slack does.
        """
        key = (str(args.get("channel", "")), str(args.get("ts", "")))
        messages = self._replies.get(key)
        if messages is None:
            channel, thread_ts = key
            own = [
                m
                for m in self.bot_messages(channel)
                if thread_ts in (m.ts, m.thread_ts) and _after(m.ts, args.get("oldest"))
            ]
            messages = [_wire(m, metadata=_truthy(args.get("include_all_metadata"))) for m in own]
        inclusive = _truthy(args.get("inclusive"))
        oldest, latest = args.get("oldest"), args.get("latest")
        messages = [
            m
            for m in messages
            if _within(str(m.get("ts", "0")), oldest, latest, inclusive=inclusive)
        ]
        size = min(int(str(args.get("limit") or 1000)), self.replies_page_size)
        if latest not in (None, "") and oldest in (None, "") and self.replies_back_from_latest:
            # Paging back in time: the page just before `latest`; the next page is asked
            # for with the page's first message as `latest`.
            page = messages[-size:]
            return {"ok": True, "messages": page, "has_more": len(messages) > size}
        start = int(str(args.get("cursor") or "0"))
        page = messages[start : start + size]
        more = start + size < len(messages)
        return {
            "ok": True,
            "messages": list(page),
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + size) if more else ""},
        }

    def _history_of(self, args: dict[str, Any]) -> dict[str, Any]:
        """The bot's top-level messages of a channel (after `oldest`), newest first."""
        channel = str(args.get("channel", ""))
        own = [
            m
            for m in reversed(self.bot_messages(channel))
            if m.thread_ts in (None, m.ts) and _after(m.ts, args.get("oldest"))
        ]
        limit = int(str(args.get("limit") or 100))
        metadata = _truthy(args.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [_wire(m, metadata=metadata) for m in own[:limit]],
            "has_more": len(own) > limit,
        }

    def _get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        try:
            length = int(str(args.get("length", "")))
        except ValueError:
            length = -1
        if not filename or length < 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._file_ids):08d}"
        alt = str(args.get("alt_txt") or "")
        self.uploads[file_id] = SlackFile(file_id, filename, length, alt=alt)
        url = f"http://127.0.0.1:{self._port}/upload/v1/{file_id}"
        return {"ok": True, "upload_url": url, "file_id": file_id}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        listed = args.get("files")
        if isinstance(listed, str):
            try:
                listed = json.loads(listed)
            except ValueError:
                listed = None
        if not isinstance(listed, list) or not listed:
            return {"ok": False, "error": "invalid_arguments"}
        files = [
            self.uploads.get(str(f.get("id"))) if isinstance(f, dict) else None for f in listed
        ]
        found = [f for f in files if f is not None and f.content is not None]
        if len(found) != len(listed):
            return {"ok": False, "error": "file_not_found"}
        channel = str(args.get("channel_id") or "") or None
        thread_ts = str(args.get("thread_ts") or "") or None
        for file, asked in zip(found, listed, strict=True):
            file.title = str(asked.get("title") or file.name)
            if channel is not None:
                file.channel, file.thread_ts = channel, thread_ts
        return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in found]}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user", ""))
        name = f"user-{user_id.lower()}"
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": f"User {user_id}",
            "deleted": False,
            "is_bot": user_id == BOT_USER_ID,
            "is_admin": False,  # set_user(user_id, is_admin=True) for a workspace admin
            "is_owner": False,
            "is_primary_owner": False,
            "tz": "Europe/London",
            "tz_offset": 0,
            "profile": {"real_name": f"User {user_id}", "display_name": name},
        }
        user.update(self._users.get(user_id, {}))
        return {"ok": True, "user": user}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """A modal opened with a `trigger_id` (Slack's are good for 3 seconds)."""
        view = args.get("view")
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        view_id = f"V{next(self._ts):08d}"
        shown = {
            **view,
            "id": view_id,
            "team_id": TEAM_ID,
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{view_id}",
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": "A1",
            "bot_id": BOT_ID,
        }
        self.views[view_id] = shown
        return {"ok": True, "view": shown}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """A modal replaced by `view_id` (or `external_id`)."""
        view, view_id = args.get("view"), args.get("view_id")
        if not view_id:
            external = args.get("external_id")
            found = [i for i, v in self.views.items() if v.get("external_id") == external]
            view_id = found[0] if found else None
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        kept = self.views[str(view_id)]
        shown = {**view, **{k: kept[k] for k in ("id", "team_id", "root_view_id", "app_id")}}
        shown["state"] = {"values": {}}
        shown["hash"] = f"{time.time():.6f}.{view_id}"
        self.views[str(view_id)] = shown
        return {"ok": True, "view": shown}


_METHODS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._post_message,
    "chat.update": FakeSlack._update,
    "chat.delete": FakeSlack._delete,
    "chat.postEphemeral": FakeSlack._post_ephemeral,
    "chat.startStream": FakeSlack._start_stream,
    "chat.appendStream": FakeSlack._append_stream,
    "chat.stopStream": FakeSlack._stop_stream,
    "conversations.replies": FakeSlack._replies_of,
    "conversations.history": FakeSlack._history_of,
    "users.info": FakeSlack._users_info,
    "views.open": FakeSlack._views_open,
    "views.update": FakeSlack._views_update,
    "files.info": lambda fake, args: fake.files.info(args),
    "files.getUploadURLExternal": FakeSlack._get_upload_url,
    "files.completeUploadExternal": FakeSlack._complete_upload,
}


def _stream_text(args: dict[str, Any]) -> str:
    """The markdown a stream call adds: `markdown_text`, then any markdown_text chunks."""
    text = str(args.get("markdown_text") or "")
    for chunk in args.get("chunks") or []:
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            text += str(chunk.get("text", ""))
    return text


def _stream_blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The blocks a stream call adds in `blocks` chunks (e.g. a Stop button)."""
    return [
        block
        for chunk in args.get("chunks") or []
        if isinstance(chunk, dict) and chunk.get("type") == "blocks"
        for block in chunk.get("blocks") or []
    ]


TASK_STATUSES = frozenset({"pending", "in_progress", "complete", "error"})
TASK_TEXT_LIMIT = 256  # `details` and `output` of a task card


def _text_field(chunk: dict[str, Any], name: str, *, required: bool, limit: int) -> bool:
    value = chunk.get(name)
    if value is None:
        return not required
    return isinstance(value, str) and (bool(value) or not required) and len(value) <= limit


def _valid_source(source: Any) -> bool:
    return (
        isinstance(source, dict)
        and source.get("type") == "url"
        and isinstance(source.get("url"), str)
        and isinstance(source.get("text"), str)
    )


def _valid_chunk(chunk: Any) -> bool:
    """A chunk as Slack takes it: `markdown_text`, `blocks`, `task_update`, `plan_update`."""
    if not isinstance(chunk, dict):
        return False
    kind = chunk.get("type")
    if kind == "markdown_text":
        return isinstance(chunk.get("text"), str)
    if kind == "blocks":
        blocks = chunk.get("blocks")
        return isinstance(blocks, list) and all(isinstance(b, dict) for b in blocks)
    if kind == "plan_update":
        return _text_field(chunk, "title", required=True, limit=TASK_TEXT_LIMIT)
    if kind == "task_update":
        sources = chunk.get("sources", [])
        return (
            _text_field(chunk, "id", required=True, limit=TASK_TEXT_LIMIT)
            and _text_field(chunk, "title", required=True, limit=TASK_TEXT_LIMIT)
            and chunk.get("status") in TASK_STATUSES
            and _text_field(chunk, "details", required=False, limit=TASK_TEXT_LIMIT)
            and _text_field(chunk, "output", required=False, limit=TASK_TEXT_LIMIT)
            and isinstance(sources, list)
            and all(_valid_source(s) for s in sources)
        )
    return False


def _valid_chunks(chunks: Any) -> bool:
    return chunks is None or (isinstance(chunks, list) and all(map(_valid_chunk, chunks)))


def _apply_tasks(message: Message, args: dict[str, Any]) -> None:
    """Task cards are created or updated in place by id; a plan's title replaced."""
    for chunk in args.get("chunks") or []:
        if chunk.get("type") == "task_update":
            message.task_updates.append(chunk)
            task = message.tasks.setdefault(str(chunk["id"]), {})
            task.update({k: v for k, v in chunk.items() if k != "type"})
        elif chunk.get("type") == "plan_update":
            message.plan_title = str(chunk["title"])


def _after(ts: str, oldest: Any) -> bool:
    """Whether a message at `ts` is newer than `oldest` (exclusive, as Slack's default)."""
    return oldest in (None, "") or float(ts) > float(str(oldest))


def _within(ts: str, oldest: Any, latest: Any, *, inclusive: bool) -> bool:
    """Whether a message at `ts` is in the time range (bounds excluded unless `inclusive`)."""
    at = float(ts)
    if oldest not in (None, ""):
        low = float(str(oldest))
        if at < low or (at == low and not inclusive):
            return False
    if latest not in (None, ""):
        high = float(str(latest))
        if at > high or (at == high and not inclusive):
            return False
    return True


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _wire(message: Message, *, metadata: bool = False) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "type": "message",
        "user": message.user,
        "bot_id": BOT_ID,
        "app_id": "A1",
        "team": message.team,
        "text": message.text,
        "ts": message.ts,
    }
    if message.thread_ts:
        wire["thread_ts"] = message.thread_ts
    if message.blocks:
        wire["blocks"] = message.blocks
    if metadata and message.metadata:
        wire["metadata"] = message.metadata
    return wire


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Query string, then a JSON or form body; form values holding JSON are decoded."""
    args: dict[str, Any] = dict(request.query)
    if not request.can_read_body:
        return args
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            args.update(body)
        return args
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, str) and key in _JSON_ARGS and _is_json(value):
            try:
                args[key] = json.loads(value)
                continue
            except ValueError:
                pass
        args[key] = value if isinstance(value, str) else "<file>"
    return args


def _has_token(request: web.Request, args: dict[str, Any]) -> bool:
    header = request.headers.get("Authorization", "")
    return header.startswith("Bearer ") and len(header) > 7 or bool(args.get("token"))


def _outcome(status: int, body: Any) -> str:
    if isinstance(body, dict) and body.get("ok") is False:
        return str(body.get("error", "error"))
    return "ok" if status < 400 else f"http {status}"


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 3] + "..."
