"""Ack latency, answers delivered, CPU and memory of the bot under a fixed event rate.

    python -m bench.ack_and_answers [--rates 200,400] [--seconds 10] [--rounds 3]

For each rate R, a fresh bot runs in its own process (bench/serve_bot.py), the
fake Slack and the fake Responses API (tests/fakes) in this one, and the load
generator in a third (bench/event_sender.py), so neither steals the bot's loop
nor adds its own lag to the acks it times. The bot gets signed
`app_mention` events, each starting its own thread, at R per second for D
seconds; every answer is a short scripted stream (20 words in 5 chunks).

Each round also runs a bare bolt app (`bench/serve_bot.py --bare`: verify the
signature, ack, nothing else) in a process of its own under the same load; bot
and bare app take turns (bot first in odd rounds, bare first in even ones), so
both see the same machine. Figures are medians over the rounds. Per rate it
reports:

- ack latency (sending the request to reading the HTTP 200): p50, p99, max, and
  how many took over 3 s (Slack's limit; a timeout or an error counts too);
- answers delivered: threads whose bot message shows the whole answer, counted
  after the load stops, waiting up to 30 s for stragglers;
- the bot process's CPU (utime + stime from /proc) per delivered answer, and
  its peak RSS (VmHWM);
- the bare bolt app's ack p99, the bot's ack p99 divided by it (the median of
  the rounds' ratios), and how many of the bot's acks took over 100 ms.

Settings match the DESIGN figures: update mode, BOT_UPDATE_INTERVAL=1.0, SQLite
on a temporary file. Everything talks to 127.0.0.1 only, and every loop is
bounded in count and time. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.event_sender import SECRET as SECRET  # bench/live_answers.py takes it from here
from bench.event_sender import Load
from bot.settings import Settings
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack

REPO = Path(__file__).resolve().parent.parent
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
        *,
        bare: bool = False,
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
        command = [sys.executable, "-m", "bench.serve_bot"] + (["--bare"] if bare else [])
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


async def send_events(port: int, rate: float, count: int, first: int) -> Load:
    """Send `count` events at `rate` per second from a process of its own (see
    bench/event_sender.py), numbered from `first`; its figures come back as JSON."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.event_sender", str(port), str(rate), str(count),
        f"--first={first}", cwd=REPO, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the event sender failed ({proc.returncode})")
    return Load(**json.loads(out))


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
    slack_calls: dict[str, int]  # Web API calls by method, warm-up included
    peak_rss_mb: float
    send_lag_p99_ms: float
    generator_cpu: float
    problems: list[str]

    @property
    def over_3s(self) -> int:
        return sum(1 for a in self.acks if a > 3.0) + self.failed

    @property
    def over_100ms(self) -> int:
        return sum(1 for a in self.acks if a > 0.1) + self.failed


@dataclass
class BareResult:
    """The bare bolt app's acks under the same load."""

    acks: list[float]
    failed: int
    cpu_ms_per_event: float
    send_lag_p99_ms: float

    @property
    def over_100ms(self) -> int:
        return sum(1 for a in self.acks if a > 0.1) + self.failed


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


class Fakes:
    """The fake Slack and model for one process's run, and a sender pointed at them."""

    def __init__(self, scripts: int, chunk_delay: float) -> None:
        self.slack = AnswerWatchingSlack()
        self.model = PeerCountingModel()
        # One script per request, each with its own response id; a few spare in
        # case the bot retries. (An unscripted request would get "Hello!", which
        # does not count as delivered.)
        self.model.enqueue(
            *(answer(ANSWER, chunks=CHUNKS, delay=chunk_delay) for _ in range(scripts))
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.slack.start()
        await self.model.start()
        try:
            yield
        finally:
            await self.model.stop()
            await self.slack.stop()


async def run_bot(
    rate: int, seconds: float, chunk_delay: float, keep_dir: Path | None, profile: bool, tag: str
) -> Result:
    count = int(rate * seconds)
    fakes = Fakes(count + WARMUP_EVENTS + count // 10 + 10, chunk_delay)
    slack, model = fakes.slack, fakes.model
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        stats = keep_dir / f"bot-{tag}.prof" if keep_dir and profile else None
        async with fakes.running():
            bot = await BotProcess.start(slack, model, Path(tmp), stats)
            try:
                warmup = await send_events(bot.port, 20, WARMUP_EVENTS, 0)
                await wait_answered(slack, list(warmup.sent_at), 15)
                await settle(bot.pid)

                user_before, system_before = cpu_times(bot.pid)
                load = await send_events(bot.port, rate, count, WARMUP_EVENTS)
                threads = list(load.sent_at)
                await wait_answered(slack, threads, DRAIN_SECONDS)
                await settle(bot.pid)
                user_after, system_after = cpu_times(bot.pid)
                user, system = user_after - user_before, system_after - system_before
                rss = peak_rss_mb(bot.pid)
            finally:
                await bot.stop()
        problems = bot.log_problems()
        if keep_dir is not None:
            shutil.copy(bot.log, keep_dir / f"bot-{tag}.log")

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
        slack_calls=dict(Counter(call.method for call in slack.calls)),
        peak_rss_mb=rss,
        send_lag_p99_ms=percentile(load.send_lag, 99) * 1000,
        generator_cpu=load.generator_cpu,
        problems=problems,
    )


async def run_bare(
    rate: int, seconds: float, keep_dir: Path | None, profile: bool, tag: str
) -> BareResult:
    count = int(rate * seconds)
    fakes = Fakes(0, 0.0)
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        stats = keep_dir / f"bare-{tag}.prof" if keep_dir and profile else None
        async with fakes.running():
            bare = await BotProcess.start(fakes.slack, fakes.model, Path(tmp), stats, bare=True)
            try:
                await send_events(bare.port, 20, WARMUP_EVENTS, 0)
                await settle(bare.pid)
                before = cpu_seconds(bare.pid)
                load = await send_events(bare.port, rate, count, WARMUP_EVENTS)
                await settle(bare.pid)
                cpu = cpu_seconds(bare.pid) - before
            finally:
                await bare.stop()
    return BareResult(
        acks=load.acks,
        failed=load.failed,
        cpu_ms_per_event=cpu * 1000 / count,
        send_lag_p99_ms=percentile(load.send_lag, 99) * 1000,
    )


@dataclass
class Rounds:
    """One rate's rounds: the bot's and the bare bolt app's, in pairs."""

    bot: list[Result]
    bare: list[BareResult]

    def bot_median(self, figure: Callable[[Result], float]) -> float:
        return median([figure(r) for r in self.bot])

    def bare_median(self, figure: Callable[[BareResult], float]) -> float:
        return median([figure(r) for r in self.bare])

    @property
    def ratio(self) -> float:
        """The bot's ack p99 over the bare app's, median of the rounds' ratios."""
        return median(
            [
                percentile(bot.acks, 99) / percentile(bare.acks, 99)
                for bot, bare in zip(self.bot, self.bare, strict=True)
                if bare.acks and bot.acks
            ]
        )


def report_round(bot: Result, bare: BareResult) -> None:
    print(
        f"  bot: ack p99 {percentile(bot.acks, 99) * 1000:.1f} ms, max "
        f"{max(bot.acks, default=math.nan) * 1000:.1f} ms, {bot.over_100ms} over 100 ms, "
        f"{bot.delivered} / {bot.events} delivered, {bot.cpu_ms_per_answer:.2f} ms CPU per "
        f"answer; bare bolt: ack p99 {percentile(bare.acks, 99) * 1000:.1f} ms, max "
        f"{max(bare.acks, default=math.nan) * 1000:.1f} ms, {bare.cpu_ms_per_event:.2f} ms "
        "CPU per event",
        file=sys.stderr,
    )
    print(
        f"  load generator: send lag p99 {bot.send_lag_p99_ms:.1f} ms (bot), "
        f"{bare.send_lag_p99_ms:.1f} ms (bare), CPU {bot.generator_cpu:.0%} of a core",
        file=sys.stderr,
    )
    print(
        f"  bot: {bot.system_share:.0%} of its CPU in the kernel; opened "
        f"{bot.model_connections} connections to the model and "
        f"{bot.slack_connections} to Slack for {bot.events + WARMUP_EVENTS} answers",
        file=sys.stderr,
    )
    answers = bot.events + WARMUP_EVENTS
    per_answer = ", ".join(f"{m} {n / answers:.2f}" for m, n in sorted(bot.slack_calls.items()))
    print(f"  bot: Slack calls per answer: {per_answer}", file=sys.stderr)
    for problem in bot.problems[:8]:
        print(f"  bot log: {problem}", file=sys.stderr)


async def run_rate(rate: int, args: argparse.Namespace) -> Rounds:
    rounds = Rounds([], [])
    for n in range(1, args.rounds + 1):
        tag = f"{rate}-{n}"
        print(
            f"running {rate} events/s for {args.seconds:g} s, round {n} of {args.rounds}…",
            file=sys.stderr,
            flush=True,
        )
        bot_first = n % 2 == 1
        if not bot_first:
            bare = await run_bare(rate, args.seconds, args.keep_dir, args.profile, tag)
        bot = await run_bot(rate, args.seconds, args.chunk_delay, args.keep_dir, args.profile, tag)
        if bot_first:
            bare = await run_bare(rate, args.seconds, args.keep_dir, args.profile, tag)
        rounds.bot.append(bot)
        rounds.bare.append(bare)
        report_round(bot, bare)
    return rounds


# -- report ---------------------------------------------------------------------------------


def table(rates: Sequence[Rounds]) -> str:
    header = (
        "| events/s | events | ack p50 ms | ack p99 ms | ack max ms | acks > 3 s "
        "| answers delivered | answer p99 s | bot CPU ms/answer | bot peak RSS MB "
        "| bare bolt ack p99 ms | ack p99 ÷ bare | acks > 100 ms |"
    )
    lines = [header, "|" + " ---: |" * (header.count("|") - 1)]
    for r in rates:
        first = r.bot[0]
        lines.append(
            f"| {first.rate} | {first.events} "
            f"| {r.bot_median(lambda b: percentile(b.acks, 50)) * 1000:.1f} "
            f"| {r.bot_median(lambda b: percentile(b.acks, 99)) * 1000:.1f} "
            f"| {r.bot_median(lambda b: max(b.acks, default=math.nan)) * 1000:.1f} "
            f"| {r.bot_median(lambda b: b.over_3s):g} "
            f"| {r.bot_median(lambda b: b.delivered):g} / {first.events} "
            f"| {r.bot_median(lambda b: percentile(b.answer_latency, 99)):.2f} "
            f"| {r.bot_median(lambda b: b.cpu_ms_per_answer):.2f} "
            f"| {r.bot_median(lambda b: b.peak_rss_mb):.0f} "
            f"| {r.bare_median(lambda b: percentile(b.acks, 99)) * 1000:.1f} "
            f"| {r.ratio:.1f} "
            f"| {r.bot_median(lambda b: b.over_100ms):g} |"
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
        results.append(await run_rate(rate, args))

    command = "python -m bench.ack_and_answers " + " ".join(sys.argv[1:])
    print()
    print("```")
    print(command.strip())
    print("```")
    print()
    print(
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; update mode, "
        f"BOT_UPDATE_INTERVAL=1.0, SQLite; answers of {len(WORDS)} words in "
        f"{len(CHUNKS)} chunks, {args.chunk_delay * 1000:.0f} ms apart; medians of "
        f"{args.rounds} round(s), each the bot and a bare bolt app in turn."
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
        "--rates", type=parse_rates, default=[200, 400], help="events/s, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per rate")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per rate, each the bot and the bare app"
    )
    parser.add_argument(
        "--chunk-delay", type=float, default=0.05, help="seconds between an answer's chunks"
    )
    parser.add_argument(
        "--keep-dir", type=Path, help="keep the bot's log (and profile) per round in this folder"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the bot and the bare app under cProfile, writing bot-<rate>-<round>.prof "
        "and bare-<rate>-<round>.prof to --keep-dir (slows them)",
    )
    args = parser.parse_args()
    if not 0 < args.seconds <= 120 or not 0 <= args.chunk_delay <= 5:
        parser.error("--seconds must be in (0, 120] and --chunk-delay in [0, 5]")
    if not 1 <= args.rounds <= 9:
        parser.error("--rounds must be 1 to 9")
    if args.profile and args.keep_dir is None:
        parser.error("--profile needs --keep-dir")
    if args.keep_dir is not None:
        args.keep_dir.mkdir(parents=True, exist_ok=True)
        args.keep_dir = args.keep_dir.resolve()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
