"""Many answers streaming at once: CPU per delta, memory per live answer, edit lag,
the first visible text, and Slack calls per answer.

    python -m bench.live_answers [--answers 500] [--seconds 20] [--interval 2.0]
                                 [--mode update|native]

The bot runs in its own process (bench/serve_bot.py; update mode, SQLite); the fake
Slack and the fake Responses API (tests/fakes) run in this one. Two parts:

1. First visible text, one answer at a time (20 answers): from the moment the fake
   model writes an answer's first delta to the moment the fake Slack receives the
   call that shows it. Slack's own time to answer that call is not in the figure.
2. N answers live at once, each in a workspace of its own (Slack's rate limits are
   per workspace, and the bot keeps to them), each streaming its deltas evenly over
   `--seconds`; run twice, with few and with many deltas per answer:
   - bot CPU per delta: the difference of the two runs' CPU over the difference of
     their deltas, so the fixed cost of an answer cancels out;
   - memory per live answer: each run sends its N answers twice, in the same
     workspaces and channels, and measures the second batch: the bot's resident
     memory while all N stream, less its memory before, over N (what the first
     batch left — each workspace's client and ledgers, and the allocator's
     high-water mark, which later answers reuse — is shown beside it); and, in a
     third run with the heap traced, the Python heap the batch holds half-way
     through its streaming, over N;
   - edit lag: how much later each interim edit of a message arrived than the moment
     it could have been made — `--interval` after the previous edit, or the moment
     the model wrote the first delta it shows, whichever is later — p50/p99;
   - Slack calls per answer (posts and edits; in native mode the stream's start,
     appends and stop too) against 2 + duration ÷ interval.

Everything talks to 127.0.0.1 only; every wait is bounded. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.ack_and_answers import SECRET, BotProcess, cpu_seconds, settle
from tests.e2e import payloads
from tests.e2e.harness import SlackSender
from tests.fakes.responses_api import (
    Events,
    FakeModel,
    Received,
    Script,
    _frame,
    _next_id,
    _open_stream,
)
from tests.fakes.slack_api import MESSAGE_CALLS, FakeSlack

FIRST_TEXT_ANSWERS = 20
FEW, MANY = 10, 100  # deltas per answer in the two runs of part 2
DRAIN_SECONDS = 60.0


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def words(index: int, count: int) -> list[str]:
    return [f"a{index}w{n}" + (" " if n < count - 1 else "") for n in range(count)]


class TimedModel(FakeModel):
    """FakeModel whose scripts note when each delta was written."""

    def __init__(self) -> None:
        super().__init__()
        self.written_at: dict[str, float] = {}  # word -> time.monotonic()

    def stream(self, chunks: list[str], *, lead: float, gap: float) -> Script:
        """An answer: `lead` seconds before the first delta, then `gap` between deltas."""
        rid = _next_id("resp")

        async def respond(request: web.Request, received: Received) -> web.StreamResponse:
            received.response_id = rid
            ev = Events(rid, received.json)
            stream = await _open_stream(request)
            number = 0

            async def send(event: dict[str, Any]) -> None:
                nonlocal number
                await stream.write(_frame({**event, "sequence_number": number}, "event"))
                number += 1

            try:
                for event in ev.opening():
                    await send(event)
                await asyncio.sleep(lead)
                for index, chunk in enumerate(chunks):
                    if index:
                        await asyncio.sleep(gap)
                    await send(ev.delta(chunk))
                    self.written_at[chunk.strip()] = time.monotonic()
                text = "".join(chunks)
                for event in ev.closing(text, "completed"):
                    await send(event)
                await send(ev.completed(text))
                await stream.write_eof()
            except ConnectionError:
                received.disconnected = True
            return stream

        return Script(respond, rid, "timed")


class TimedSlack(FakeSlack):
    """FakeSlack that notes, per thread, when each post or edit of the bot arrived and
    when a call first showed a given word."""

    def __init__(self, watched: set[str]) -> None:
        super().__init__()
        self.watched = watched  # first words whose first showing is timed
        self.shown_at: dict[str, float] = {}
        # thread ts -> (arrival, the words then shown), per post or edit
        self.writes: dict[str, list[tuple[float, frozenset[str]]]] = defaultdict(list)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        at = time.monotonic()
        body = super()._answer(method, args)
        if method not in MESSAGE_CALLS or not body.get("ok"):
            return body
        channel = body.get("channel") or args.get("channel")
        message = self.messages.get((str(channel), str(body.get("ts") or args.get("ts"))))
        if message is None or message.thread_ts is None:
            return body
        visible = message.visible
        self.writes[message.thread_ts].append((at, frozenset(visible.split())))
        for word in self.watched:
            if word not in self.shown_at and word in visible:
                self.shown_at[word] = at
        return body


@dataclass
class LiveRun:
    deltas: int
    cpu: float
    rss_start: float  # the bot's resident memory before the first batch
    rss_before: float  # … and after it, before the measured one
    rss_live: float
    heap: float  # bytes the measured batch held half-way through (traced runs only)
    lags: list[float]
    calls: list[int]
    delivered: int


MODE = "update"  # BOT_STREAM_MODE, set from --mode


async def started_bot(
    slack: FakeSlack, model: FakeModel, workdir: Path, interval: float, heap: Path | None = None
) -> Any:
    return await BotProcess.start(
        slack,
        model,
        workdir,
        None,
        extra={
            "BOT_UPDATE_INTERVAL": str(interval),
            "BOT_STREAM_MODE": MODE,
            "BOT_MAX_CONCURRENT_ANSWERS": "1000",
            "BOT_LOG_LEVEL": "WARNING",
        }
        | ({"BENCH_HEAP": str(heap)} if heap else {}),
    )


async def first_text(interval: float) -> list[float]:
    """Part 1: seconds from the first delta written to Slack receiving it."""
    firsts = {f"a{i}w0" for i in range(FIRST_TEXT_ANSWERS)}
    slack, model = TimedSlack(firsts), TimedModel()
    await slack.start()
    await model.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-first-") as tmp:
            bot = await started_bot(slack, model, Path(tmp), interval)
            try:
                async with aiohttp.ClientSession() as session:
                    sender = SlackSender(session, SECRET, slack)
                    for index in range(FIRST_TEXT_ANSWERS):
                        model.enqueue(model.stream(words(index, 5), lead=0.3, gap=0.05))
                        event = payloads.mention(f"<@UBOT> q{index}", channel=f"C{index}")
                        await sender.event(bot, event)
                        await slack.wait_for(
                            lambda i=index: f"a{i}w0" in slack.shown_at,
                            timeout=10,
                            what="the first text",
                        )
            finally:
                await bot.stop()
    finally:
        await model.stop()
        await slack.stop()
    return [slack.shown_at[w] - model.written_at[w] for w in firsts if w in slack.shown_at]


async def live(
    count: int, deltas: int, seconds: float, interval: float, trace_heap: bool = False
) -> LiveRun:
    """Part 2: `count` answers at once, `deltas` each over `seconds` — twice on one bot,
    in the same workspaces and channels; the second batch is the one measured, so
    what the first leaves behind (each workspace's client and ledgers, the allocator's
    high-water mark) is not counted as memory of a live answer. With `trace_heap`, the
    bot traces its heap through the measured batch (which slows it: take no CPU figure
    from that run) and reports what the batch holds half-way through."""
    slack, model = TimedSlack(set()), TimedModel()
    gap = seconds / max(deltas - 1, 1)
    for index in range(2 * count):
        model.enqueue(model.stream(words(index, deltas), lead=0.0, gap=gap))
    await slack.start()
    await model.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
            heap_file = Path(tmp) / "heap"
            bot = await started_bot(
                slack, model, Path(tmp), interval, heap_file if trace_heap else None
            )
            heap = math.nan

            async def read_heap() -> None:
                nonlocal heap
                os.kill(bot.pid, signal.SIGUSR2)
                await slack.wait_for(heap_file.exists, timeout=10, what="the heap's size")
                heap = int(heap_file.read_text())

            try:
                await settle(bot.pid)
                rss_start = rss_mb(bot.pid)
                async with aiohttp.ClientSession() as session:
                    sender = SlackSender(session, SECRET, slack)
                    await batch(sender, slack, model, bot, count, deltas, seconds, 0)
                    await settle(bot.pid)
                    rss_before = rss_mb(bot.pid)
                    cpu_before = cpu_seconds(bot.pid)
                    if trace_heap:
                        os.kill(bot.pid, signal.SIGUSR1)
                    events, rss_live, done = await batch(
                        sender,
                        slack,
                        model,
                        bot,
                        count,
                        deltas,
                        seconds,
                        1,
                        read_heap if trace_heap else None,
                    )
                await settle(bot.pid)
                cpu = cpu_seconds(bot.pid) - cpu_before
            finally:
                await bot.stop()
    finally:
        await model.stop()
        await slack.stop()
    lags, calls = [], []
    for event in events:
        writes = slack.writes.get(event["ts"], [])
        calls.append(len(writes))
        # The first post (the first text, or a placeholder), the interim edits, the final
        # write: the gaps between interim edits are what pacing decides.
        interim = writes[1:-1]
        pairs = zip(interim, interim[1:], strict=False)
        lags += [edit_lag(a, b, interval, model.written_at) for a, b in pairs]
    return LiveRun(deltas, cpu, rss_start, rss_before, rss_live, heap, lags, calls, done)


async def batch(
    sender: SlackSender,
    slack: TimedSlack,
    model: TimedModel,
    bot: Any,
    count: int,
    deltas: int,
    seconds: float,
    round_: int,
    half_way: Callable[[], Awaitable[None]] | None = None,
) -> tuple[list[dict[str, Any]], float, int]:
    """`count` mentions at once, one per workspace; waits for their whole answers,
    calling `half_way` once half of their streaming time has passed. Returns the
    events, the bot's highest resident memory while they streamed, and how many
    answers were delivered."""
    events = [
        payloads.mention(
            f"<@UBOT> q{i}", channel=f"C{i}", team=f"T{i}", ts=f"{1700000000 + round_}.{i:06d}"
        )
        for i in range(count)
    ]
    await asyncio.gather(*(sender.event(bot, e, team_id=e["team"]) for e in events))
    await model.wait_for_requests((round_ + 1) * count, timeout=60)
    rss_live = 0.0
    loop = asyncio.get_running_loop()
    half = loop.time() + seconds / 2
    deadline = loop.time() + seconds + DRAIN_SECONDS
    done = 0
    while loop.time() < deadline:
        if half_way is not None and loop.time() >= half:
            await half_way()
            half_way = None
        if loop.time() < deadline - DRAIN_SECONDS:
            rss_live = max(rss_live, rss_mb(bot.pid))
        # Requests took the scripts in the order they came: any answer's whole text
        # will do, so look for its last word.
        done = sum(
            1 for e in events if f"w{deltas - 1}" in slack.thread_text(e["channel"], e["ts"])
        )
        if done == count:
            break
        await asyncio.sleep(0.5)
    return events, rss_live, done


def edit_lag(
    before: tuple[float, frozenset[str]],
    edit: tuple[float, frozenset[str]],
    interval: float,
    written_at: dict[str, float],
) -> float:
    """How late `edit` came: after `interval` from the edit `before` it, and after the
    model wrote the first word it shows that `before` did not."""
    (before_at, shown_before), (edit_at, shown) = before, edit
    new = [written_at[word] for word in shown - shown_before if word in written_at]
    ready = max(before_at + interval, min(new, default=before_at + interval))
    return max(edit_at - ready, 0.0)


async def main_async(args: argparse.Namespace) -> int:
    print("first visible text, one answer at a time…", file=sys.stderr, flush=True)
    firsts = await first_text(args.interval)
    runs = []
    for deltas in (FEW, MANY):
        print(f"{args.answers} answers at once, {deltas} deltas each…", file=sys.stderr)
        runs.append(await live(args.answers, deltas, args.seconds, args.interval))
    print(f"{args.answers} answers at once, {FEW} deltas each, the heap traced…", file=sys.stderr)
    traced = await live(args.answers, FEW, args.seconds, args.interval, trace_heap=True)
    few, many = runs
    per_delta_us = (many.cpu - few.cpu) / (args.answers * (MANY - FEW)) * 1e6
    print()
    print("```")
    print(("python -m bench.live_answers " + " ".join(sys.argv[1:])).strip())
    print("```")
    print()
    print("| figure | value | target |")
    print("| --- | ---: | ---: |")
    print(
        f"| first visible text after the model's first delta, p50 / max ms "
        f"| {percentile(firsts, 50) * 1000:.1f} / {max(firsts, default=math.nan) * 1000:.1f} "
        f"| one Slack call + 10 |"
    )
    print(f"| bot CPU per streamed delta, µs | {per_delta_us:.0f} | ≤ 20 |")
    print(
        f"| Python heap per live answer (tracemalloc), KiB "
        f"| {traced.heap / args.answers / 1024:.0f} | ≤ 64 |"
    )
    for run in runs:
        memory = (run.rss_live - run.rss_before) / args.answers * 1024
        ideal = 2 + args.seconds / args.interval
        print(
            f"| {args.answers} live, {run.deltas} deltas each: delivered "
            f"| {run.delivered} / {args.answers} | all |"
        )
        left = (run.rss_before - run.rss_start) / args.answers * 1024
        print(f"| … resident memory per live answer, KiB | {memory:.0f} | ≤ 64 |")
        print(f"| … memory the first batch left, KiB per workspace | {left:.0f} | |")
        print(
            f"| … edit lag p50 / p99 ms | {percentile(run.lags, 50) * 1000:.0f} / "
            f"{percentile(run.lags, 99) * 1000:.0f} | p99 < 250 |"
        )
        print(
            f"| … Slack calls per answer, mean / max | "
            f"{sum(run.calls) / max(len(run.calls), 1):.1f} / {max(run.calls, default=0)} "
            f"| ≤ {ideal:.0f} |"
        )
        print(f"| … bot CPU per answer, ms | {run.cpu / args.answers * 1000:.1f} | |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live_answers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--answers", type=int, default=500, help="answers live at once")
    parser.add_argument("--seconds", type=float, default=20.0, help="each answer's stream")
    parser.add_argument("--interval", type=float, default=2.0, help="BOT_UPDATE_INTERVAL")
    parser.add_argument("--mode", choices=("update", "native"), default="update")
    args = parser.parse_args()
    global MODE
    MODE = args.mode
    if not 1 <= args.answers <= 2000:
        parser.error("--answers must be in [1, 2000]")
    if not 2 <= args.seconds <= 120:
        parser.error("--seconds must be in [2, 120]")
    if not 0.2 <= args.interval <= 10:
        parser.error("--interval must be in [0.2, 10]")
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(main_async(args))
    return 1


if __name__ == "__main__":
    sys.exit(main())
