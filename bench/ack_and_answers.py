"""Ack latency, answers delivered, CPU and memory of the bot under a fixed event rate.

    python -m bench.ack_and_answers [--rates 50,100,200] [--seconds 10]

For each rate R, a fresh bot runs in its own process (bench/serve_bot.py), so the
load generator does not steal its CPU; the fake Slack and the fake Responses API
(tests/fakes) and the load generator share this process. The bot gets signed
`app_mention` events, each starting its own thread, at R per second for D
seconds; every answer is a short scripted stream (20 words in 5 chunks). Per rate
it reports:

- ack latency (sending the request to reading the HTTP 200): p50, p99, max, and
  how many took over 3 s (Slack's limit; a timeout or an error counts too);
- answers delivered: threads whose bot message shows the whole answer, counted
  after the load stops, waiting up to 30 s for stragglers;
- the bot process's CPU (utime + stime from /proc) per delivered answer, and
  its peak RSS (VmHWM).

Settings match the DESIGN figures: update mode, BOT_UPDATE_INTERVAL=1.0, SQLite
on a temporary file. Everything talks to 127.0.0.1 only, and every loop is
bounded in count and time. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.settings import Settings
from tests.e2e import payloads
from tests.e2e.harness import SlackSender
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack

REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret-0123456789abcdef"
# fmt: off
WORDS = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
    "sierra", "tango",
]
# fmt: on
ANSWER = " ".join(WORDS)
# 5 chunks of 4 words that join back to ANSWER exactly.
CHUNKS = [(" " if i else "") + " ".join(WORDS[i : i + 4]) for i in range(0, len(WORDS), 4)]
WARMUP_EVENTS = 20  # answered before measuring: first-call costs are not steady state
DRAIN_SECONDS = 30.0  # how long answers may take to land after the load stops
ACK_TIMEOUT = 10.0  # a request not acked by then is abandoned (and counted over 3 s)
MAX_EVENTS = 20_000  # per rate: a hard bound on what one run may send
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the bot process, seen from outside ---------------------------------------


def cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) of the process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS  # 14, 15 in proc(5)


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


async def settle(pid: int, limit: float = 5.0) -> None:
    """Wait until the bot has stopped using CPU (bookkeeping after the last answer)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    before = cpu_seconds(pid)
    while loop.time() < deadline:
        await asyncio.sleep(0.25)
        now = cpu_seconds(pid)
        if now - before <= 1 / CLOCK_TICKS:
            return
        before = now


class BotProcess:
    """`python -m bench.serve_bot` pointed at the fakes; its log goes to a file."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    @classmethod
    async def start(
        cls,
        slack: FakeSlack,
        model: FakeModel,
        workdir: Path,
        profile: Path | None,
        extra: dict[str, str] | None = None,
    ) -> BotProcess:
        # Only the settings below reach the bot: none of this shell's or a .env's.
        env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
        env.update(
            SLACK_BOT_TOKEN="xoxb-bench-token",
            SLACK_SIGNING_SECRET=SECRET,
            OPENAI_API_KEY="sk-bench-key-0000",
            SLACK_API_URL=slack.url,
            OPENAI_BASE_URL=model.url,
            DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/bot.db",
            PORT="0",
            BOT_STREAM_MODE="update",
            BOT_UPDATE_INTERVAL="1.0",
            BOT_LOG_LEVEL="INFO",
        )
        env.update(extra or {})
        command = [sys.executable, "-m", "bench.serve_bot"]
        if profile is not None:
            command += ["--profile", str(profile)]
        log = workdir / "bot.log"
        with log.open("wb") as log_file:
            proc = await asyncio.create_subprocess_exec(
                *command, cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=log_file
            )
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
        except TimeoutError:
            line = b""
        if not line.startswith(b"READY "):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the bot did not start:\n{tail}")
        return cls(proc, int(line.split()[1]), log)

    async def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def log_problems(self) -> list[str]:
        """The bot's WARNING and ERROR lines (timestamps cut), distinct, with counts."""
        counts: dict[str, int] = {}
        for line in self.log.read_text(errors="replace").splitlines():
            for level in (" WARNING ", " ERROR ", " CRITICAL "):
                if level in line:
                    key = level.strip() + " " + line.split(level, 1)[1][:150]
                    counts[key] = counts.get(key, 0) + 1
        return [f"{n} x {text}" for text, n in sorted(counts.items(), key=lambda kv: -kv[1])]


# -- the fakes ----------------------------------------------------------------------


class AnswerWatchingSlack(FakeSlack):
    """FakeSlack that notes when each thread first shows the whole answer.

    Checked as each call is answered (O(1) per call), so nothing polls the
    thousands of messages while the load runs. With a 1 s update interval and
    a stream this short, the whole text appears with the final chat.update.
    """

    def __init__(self) -> None:
        super().__init__()
        self.answered_at: dict[str, float] = {}  # thread ts -> time.monotonic()
        self.answer_seen = asyncio.Event()
        self.peers: set[Any] = set()  # client (host, port)s: how many connections the bot opened

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        self.peers.add(request.transport and request.transport.get_extra_info("peername"))
        return await super()._handle_api(request)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        body = super()._answer(method, args)
        if method in ("chat.update", "chat.postMessage") and body.get("ok"):
            message = self.messages.get((str(body.get("channel")), str(body.get("ts"))))
            if (
                message is not None
                and message.thread_ts is not None
                and message.thread_ts not in self.answered_at
                and message.visible.strip() == ANSWER
            ):
                self.answered_at[message.thread_ts] = time.monotonic()
                self.answer_seen.set()
        return body


class PeerCountingModel(FakeModel):
    """FakeModel that counts the connections the bot opened to it."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: set[Any] = set()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.peers.add(request.transport and request.transport.get_extra_info("peername"))
        return await super()._handle(request)


# -- load -------------------------------------------------------------------------------


@dataclass
class Target:
    port: int


@dataclass
class Load:
    sent_at: dict[str, float] = field(default_factory=dict)  # thread ts -> time.monotonic()
    acks: list[float] = field(default_factory=list)  # seconds, for HTTP 200 only
    failed: int = 0  # errors, timeouts and non-200 answers
    send_lag: list[float] = field(default_factory=list)  # how late each send started
    generator_cpu: float = 0.0  # this process's CPU share while sending, 0..1 per core


async def send_events(sender: SlackSender, target: Target, rate: float, count: int) -> Load:
    """Send `count` app_mention events at `rate` per second, each in a thread of its own.

    Sends are scheduled on a fixed timetable (not one after the other), so a
    slow ack never slows the offered load: that is how Slack behaves.
    """
    load = Load()
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def one(index: int) -> None:
        # Each event from a workspace and channel of its own: Slack's rate limits are per
        # workspace (about 50 edits a minute) and per channel, and the bot keeps to them.
        team = f"T{index}"
        event = payloads.mention(
            f"<@UBOT> question {index}, answer briefly", channel=f"C{index}", team=team
        )
        load.sent_at[event["ts"]] = time.monotonic()
        try:
            reply = await sender.event(target, event, team_id=team)
        except (aiohttp.ClientError, TimeoutError):
            load.failed += 1
            return
        if reply.status == 200:
            load.acks.append(reply.elapsed)
        else:
            load.failed += 1

    cpu_before, wall_before = time.process_time(), time.monotonic()
    start = loop.time() + 0.05
    for index in range(count):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        load.send_lag.append(max(0.0, loop.time() - due))
        task = asyncio.create_task(one(index))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(set(tasks), timeout=ACK_TIMEOUT + 5)
    load.generator_cpu = (time.process_time() - cpu_before) / (time.monotonic() - wall_before)
    return load


async def wait_answered(slack: AnswerWatchingSlack, threads: Sequence[str], limit: float) -> None:
    """Return once every thread shows its answer, or after `limit` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    pending = set(threads)
    while True:
        pending -= slack.answered_at.keys()
        remaining = deadline - loop.time()
        if not pending or remaining <= 0:
            return
        slack.answer_seen.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(slack.answer_seen.wait(), remaining)


# -- one rate -------------------------------------------------------------------------------


@dataclass
class Result:
    rate: int
    events: int
    acks: list[float]
    failed: int
    delivered: int
    answer_latency: list[float]
    cpu_ms_per_answer: float
    system_share: float  # of the bot's CPU, the part spent in the kernel
    model_connections: int  # TCP connections the bot opened to the model (warm-up included)
    slack_connections: int  # and to the Slack Web API
    peak_rss_mb: float
    send_lag_p99_ms: float
    generator_cpu: float
    problems: list[str]

    @property
    def over_3s(self) -> int:
        return sum(1 for a in self.acks if a > 3.0) + self.failed


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def run_rate(
    rate: int, seconds: float, chunk_delay: float, keep_dir: Path | None, profile: bool
) -> Result:
    count = int(rate * seconds)
    slack = AnswerWatchingSlack()
    model = PeerCountingModel()
    # One script per request, each with its own response id; a few spare in
    # case the bot retries. (An unscripted request would get "Hello!", which
    # does not count as delivered.)
    spare = WARMUP_EVENTS + count // 10 + 10
    model.enqueue(*(answer(ANSWER, chunks=CHUNKS, delay=chunk_delay) for _ in range(count + spare)))
    await slack.start()
    await model.start()
    timeout = aiohttp.ClientTimeout(total=ACK_TIMEOUT)
    # No connection limit: like Slack, the sender opens connections as needed
    # rather than queueing requests behind a pool (which would inflate latency).
    connector = aiohttp.TCPConnector(limit=0)
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        stats = keep_dir / f"bot-{rate}.prof" if keep_dir and profile else None
        bot = await BotProcess.start(slack, model, Path(tmp), stats)
        try:
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
                sender = SlackSender(session, SECRET, slack)
                target = Target(bot.port)

                warmup = await send_events(sender, target, 20, WARMUP_EVENTS)
                await wait_answered(slack, list(warmup.sent_at), 15)
                await settle(bot.pid)

                user_before, system_before = cpu_times(bot.pid)
                load = await send_events(sender, target, rate, count)
                threads = list(load.sent_at)
                await wait_answered(slack, threads, DRAIN_SECONDS)
                await settle(bot.pid)
                user_after, system_after = cpu_times(bot.pid)
                user, system = user_after - user_before, system_after - system_before
                rss = peak_rss_mb(bot.pid)
        finally:
            await bot.stop()
            await model.stop()
            await slack.stop()
        problems = bot.log_problems()
        if keep_dir is not None:
            shutil.copy(bot.log, keep_dir / f"bot-{rate}.log")

    answered = [t for t in threads if t in slack.answered_at]
    return Result(
        rate=rate,
        events=count,
        acks=load.acks,
        failed=load.failed,
        delivered=len(answered),
        answer_latency=[slack.answered_at[t] - load.sent_at[t] for t in answered],
        cpu_ms_per_answer=(user + system) * 1000 / len(answered) if answered else math.nan,
        system_share=system / (user + system) if user + system else math.nan,
        model_connections=len(model.peers),
        slack_connections=len(slack.peers),
        peak_rss_mb=rss,
        send_lag_p99_ms=percentile(load.send_lag, 99) * 1000,
        generator_cpu=load.generator_cpu,
        problems=problems,
    )


# -- report ---------------------------------------------------------------------------------


def table(results: Sequence[Result]) -> str:
    header = (
        "| events/s | events | ack p50 ms | ack p99 ms | ack max ms | acks > 3 s "
        "| answers delivered | answer p99 s | bot CPU ms/answer | bot peak RSS MB |"
    )
    lines = [header, "|" + " ---: |" * (header.count("|") - 1)]
    for r in results:
        lines.append(
            f"| {r.rate} | {r.events} "
            f"| {percentile(r.acks, 50) * 1000:.1f} | {percentile(r.acks, 99) * 1000:.1f} "
            f"| {max(r.acks, default=math.nan) * 1000:.1f} | {r.over_3s} "
            f"| {r.delivered} / {r.events} | {percentile(r.answer_latency, 99):.2f} "
            f"| {r.cpu_ms_per_answer:.2f} | {r.peak_rss_mb:.0f} |"
        )
    return "\n".join(lines)


def parse_rates(text: str) -> list[int]:
    rates = [int(part) for part in text.split(",") if part.strip()]
    if not rates or any(not 1 <= r <= 1000 for r in rates):
        raise argparse.ArgumentTypeError("rates are events per second, 1 to 1000 each")
    return rates


async def main_async(args: argparse.Namespace) -> int:
    results = []
    for rate in args.rates:
        if rate * args.seconds > MAX_EVENTS:
            print(f"skipping {rate}/s: over {MAX_EVENTS} events", file=sys.stderr)
            continue
        print(f"running {rate} events/s for {args.seconds:g} s…", file=sys.stderr, flush=True)
        result = await run_rate(rate, args.seconds, args.chunk_delay, args.keep_dir, args.profile)
        results.append(result)
        print(
            f"  load generator: send lag p99 {result.send_lag_p99_ms:.1f} ms, "
            f"CPU {result.generator_cpu:.0%} of a core",
            file=sys.stderr,
        )
        print(
            f"  bot: {result.system_share:.0%} of its CPU in the kernel; opened "
            f"{result.model_connections} connections to the model and "
            f"{result.slack_connections} to Slack for {result.events + WARMUP_EVENTS} answers",
            file=sys.stderr,
        )
        for problem in result.problems[:8]:
            print(f"  bot log: {problem}", file=sys.stderr)

    command = "python -m bench.ack_and_answers " + " ".join(sys.argv[1:])
    print()
    print("```")
    print(command.strip())
    print("```")
    print()
    print(
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; update mode, "
        f"BOT_UPDATE_INTERVAL=1.0, SQLite; answers of {len(WORDS)} words in "
        f"{len(CHUNKS)} chunks, {args.chunk_delay * 1000:.0f} ms apart."
    )
    print()
    print(table(results))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ack_and_answers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--rates", type=parse_rates, default=[50, 100, 200], help="events/s, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per rate")
    parser.add_argument(
        "--chunk-delay", type=float, default=0.05, help="seconds between an answer's chunks"
    )
    parser.add_argument(
        "--keep-dir", type=Path, help="keep the bot's log (and profile) per rate in this folder"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the bot under cProfile, writing bot-<rate>.prof to --keep-dir (slows the bot)",
    )
    args = parser.parse_args()
    if not 0 < args.seconds <= 120 or not 0 <= args.chunk_delay <= 5:
        parser.error("--seconds must be in (0, 120] and --chunk-delay in [0, 5]")
    if args.profile and args.keep_dir is None:
        parser.error("--profile needs --keep-dir")
    if args.keep_dir is not None:
        args.keep_dir.mkdir(parents=True, exist_ok=True)
        args.keep_dir = args.keep_dir.resolve()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
