"""N answers streaming at once in one workspace, against Slack's rate limits.

    python -m bench.busy_workspace [--answers 10,20,50] [--modes update,native] [--seconds 20]

For each stream mode and each N, a fresh bot (in this process, SQLite on a
temporary file, BOT_UPDATE_INTERVAL=1.0) gets N mentions at once, spread over
five channels of one workspace; the fake Responses API streams each answer word
by word for `--seconds`. The fake Slack enforces Slack's tiers per workspace
and method (tests/fakes/slack_api.py `TIERS`: chat.update 50 a minute,
chat.postMessage 10 in 10 s per channel, chat.startStream / stopStream 20 a
minute, chat.appendStream 100 a minute). Per run it reports:

- HTTP 429s Slack answered (over the whole run);
- final texts that landed whole, out of N;
- edits per answer: how often each answer's visible text changed after its
  message appeared (first text, interim edits and the final text), mean / max;
- final-text delay: from the end of an answer's model stream to Slack showing
  its whole text, p50 / max.

Everything talks to 127.0.0.1 only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.main import Bot
from bot.settings import Settings
from tests.e2e import payloads
from tests.e2e.harness import SlackSender
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack

SECRET = "bench-signing-secret-0123456789abcdef"
CHANNELS = 5
WORDS = 40
FINALS_WAIT = 300.0  # the longest a run waits for its last final text


def text_of(index: int) -> str:
    return " ".join(f"a{index}w{word}" for word in range(WORDS))


class FinalWatchingSlack(FakeSlack):
    """FakeSlack that notes when each answer first shows its whole text."""

    def __init__(self, finals: dict[str, int]) -> None:
        super().__init__(enforce_tiers=True)
        self.finals = finals  # final text -> answer index
        self.landed_at: dict[int, float] = {}
        self.landed = asyncio.Event()

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        body = super()._answer(method, args)
        if body.get("ok") and "ts" in body:
            message = self.messages.get((str(body.get("channel")), str(body.get("ts"))))
            if message is not None and not message.streaming:
                index = self.finals.get(message.visible)
                if index is not None and index not in self.landed_at:
                    self.landed_at[index] = time.monotonic()
                    self.landed.set()
        return body


@dataclass
class Result:
    mode: str
    answers: int
    rate_limited: int
    landed: int
    edits: list[int]
    delays: list[float]


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def run(mode: str, count: int, seconds: float) -> Result:
    delay = seconds / (WORDS - 1)
    finals = {text_of(index): index for index in range(count)}
    slack = FinalWatchingSlack(finals)
    model = FakeModel()
    for index in range(count):
        words = [f"a{index}w{w}" + (" " if w < WORDS - 1 else "") for w in range(WORDS)]
        model.enqueue(answer(text_of(index), chunks=words, delay=delay))
    await slack.start()
    await model.start()
    with tempfile.TemporaryDirectory(prefix="bench-busy-") as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            SLACK_BOT_TOKEN="xoxb-bench-token",
            SLACK_SIGNING_SECRET=SECRET,
            OPENAI_API_KEY="sk-bench-key-0000",
            SLACK_API_URL=slack.url,
            OPENAI_BASE_URL=model.url,
            DATABASE_URL=f"sqlite+aiosqlite:///{Path(tmp)}/bot.db",
            PORT=0,
            BOT_STREAM_MODE=mode,
            BOT_UPDATE_INTERVAL=1.0,
        )
        bot = await Bot.start(settings, host="127.0.0.1")
        try:
            async with aiohttp.ClientSession() as session:
                sender = SlackSender(session, SECRET, slack)
                events = [
                    payloads.mention(f"<@UBOT> question {i}", channel=f"C{i % CHANNELS + 1}")
                    for i in range(count)
                ]
                await asyncio.gather(*(sender.event(bot, event) for event in events))
                await model.wait_for_requests(count, timeout=60)
                await wait_landed(slack, count, FINALS_WAIT)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(bot.idle(), 30)
        finally:
            await bot.stop()
            await model.stop()
            await slack.stop()

    # The k-th request got the k-th script, whose text is text_of(k).
    stream_ended = {k: r.at + (WORDS - 1) * delay for k, r in enumerate(model.requests)}
    edits = []
    for event in events:
        shown = slack.thread_messages(event["channel"], event["ts"])
        edits.append(sum(m.edits for m in shown))
    return Result(
        mode=mode,
        answers=count,
        rate_limited=len(slack.rate_limited()),
        landed=len(slack.landed_at),
        edits=edits,
        delays=[
            max(at - stream_ended[i], 0.0) for i, at in slack.landed_at.items() if i in stream_ended
        ],
    )


async def wait_landed(slack: FinalWatchingSlack, count: int, limit: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while len(slack.landed_at) < count:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        slack.landed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(slack.landed.wait(), remaining)


def table(results: Sequence[Result]) -> str:
    header = (
        "| mode | answers at once | HTTP 429s | final texts landed | edits per answer "
        "(mean / max) | final-text delay p50 s | final-text delay max s |"
    )
    lines = [header, "| --- |" + " ---: |" * (header.count("|") - 2)]
    for r in results:
        mean = sum(r.edits) / len(r.edits) if r.edits else math.nan
        lines.append(
            f"| {r.mode} | {r.answers} | {r.rate_limited} | {r.landed} / {r.answers} "
            f"| {mean:.1f} / {max(r.edits, default=0)} "
            f"| {percentile(r.delays, 50):.1f} | {max(r.delays, default=math.nan):.1f} |"
        )
    return "\n".join(lines)


def parse_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or any(not 1 <= c <= 200 for c in counts):
        raise argparse.ArgumentTypeError("answers at once: 1 to 200 each")
    return counts


def parse_modes(text: str) -> list[str]:
    modes = [part.strip() for part in text.split(",") if part.strip()]
    if not modes or any(m not in ("update", "native") for m in modes):
        raise argparse.ArgumentTypeError("modes: update, native")
    return modes


async def main_async(args: argparse.Namespace) -> int:
    results = []
    for mode in args.modes:
        for count in args.answers:
            print(f"running {count} answers at once, {mode} mode…", file=sys.stderr, flush=True)
            results.append(await run(mode, count, args.seconds))
    command = "python -m bench.busy_workspace " + " ".join(sys.argv[1:])
    print()
    print("```")
    print(command.strip())
    print("```")
    print()
    print(
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; BOT_UPDATE_INTERVAL=1.0, "
        f"SQLite; each answer {WORDS} words streamed over {args.seconds:g} s; one workspace, "
        f"{CHANNELS} channels; the fake Slack enforces Slack's tiers."
    )
    print()
    print(table(results))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.busy_workspace",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--answers", type=parse_counts, default=[10, 20, 50], help="answers at once, e.g. 10,20"
    )
    parser.add_argument(
        "--modes", type=parse_modes, default=["update", "native"], help="stream modes"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="each answer's stream")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 120:
        parser.error("--seconds must be in [1, 120]")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
