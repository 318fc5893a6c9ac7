"""Run one bot in this process, on 127.0.0.1, for a benchmark.

`python -m bench.serve_bot [--bare] [--profile FILE]` reads its settings from
the environment only (no `.env`: a developer's real tokens must not leak into a
benchmark), listens on 127.0.0.1 at PORT (0: any free port), prints
`READY <port>` on stdout once it accepts requests, and stops on SIGTERM or
SIGINT. With `--profile`, the whole run is under cProfile and the stats are
written to FILE on stop (cProfile roughly doubles the CPU cost; use it to find
hot spots, not to take figures). It counts the CPU time of the event loop's
thread, not wall time, so other processes on a busy machine do not inflate it.

With BENCH_HEAP=FILE in its environment, SIGUSR1 starts tracing the Python heap
(tracemalloc) and SIGUSR2 writes to FILE how many bytes allocated since then are
still held: what a batch of answers holds while it is live (bench/live_answers.py).

With `--bare`, it serves a bare bolt `AsyncApp` instead of the bot: the same
aiohttp server, bolt adapter and event loop, a client on SLACK_API_URL with
SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET; it verifies each request's signature
and acks `app_mention` events, and does nothing else. It is the floor the bot's
acks are measured against (bench/ack_and_answers.py).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import signal
import sys
import time
import tracemalloc
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench.stalls import Stalls, cycles, keep_cycles
from bot import logs
from bot.__main__ import run_loop
from bot.heap import freeze_start_up_heap
from bot.main import Bot
from bot.settings import Settings


async def until_stopped(port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {port}", flush=True)
    await stop.wait()


async def serve() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    logs.configure(
        settings.BOT_LOG_LEVEL,
        settings.SLACK_BOT_TOKEN,
        settings.SLACK_SIGNING_SECRET,
        settings.OPENAI_API_KEY,
    )
    bot = await Bot.start(settings, host="127.0.0.1")
    if not os.environ.get("BENCH_NO_FREEZE"):  # to measure what freezing saves
        freeze_start_up_heap()  # as `python -m bot run` does
    stalls = Stalls() if os.environ.get("BENCH_STALLS") else None
    if stalls is not None:
        stalls.start()
    if os.environ.get("BENCH_CYCLES"):
        keep_cycles()
    if heap_file := os.environ.get("BENCH_HEAP"):
        trace_heap_on_signals(Path(heap_file))
    await until_stopped(bot.port)
    if os.environ.get("BENCH_CYCLES"):
        print(cycles(), file=sys.stderr, flush=True)
    if stalls is not None:
        print(stalls.summary(), file=sys.stderr, flush=True)
    await bot.stop(grace=1.0)  # figures are taken before the stop


def trace_heap_on_signals(file: Path) -> None:
    """SIGUSR1 starts tracemalloc; SIGUSR2 writes the bytes traced since then to `file`."""
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, tracemalloc.start)

    def report() -> None:
        file.write_text(str(tracemalloc.get_traced_memory()[0]))

    loop.add_signal_handler(signal.SIGUSR2, report)


async def serve_bare() -> None:
    """A bare bolt app: verify the signature, ack `app_mention`, nothing more."""
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(
            token=os.environ["SLACK_BOT_TOKEN"],
            base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
            session=session,
        )
        app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

        @app.event("app_mention")
        async def on_mention(ack: AsyncAck) -> None:
            await ack()

        async def events(request: web.Request) -> web.Response:
            response = await app.async_dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(response)

        web_app = web.Application()
        web_app.router.add_post("/slack/events", events)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", int(os.environ.get("PORT", "0")))
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        try:
            await until_stopped(sockets[0].getsockname()[1])
        finally:
            await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve_bot", description=__doc__)
    parser.add_argument("--bare", action="store_true", help="serve a bare bolt app, not the bot")
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats to FILE")
    args = parser.parse_args()
    run: Callable[[], Coroutine[Any, Any, None]] = serve_bare if args.bare else serve
    if not args.profile:
        run_loop(run())
        return 0
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    try:
        run_loop(run())
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
