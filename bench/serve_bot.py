"""Run one bot in this process, on 127.0.0.1, for a benchmark.

`python -m bench.serve_bot [--profile FILE]` reads its settings from the
environment only (no `.env`: a developer's real tokens must not leak into a
benchmark), listens on 127.0.0.1 at PORT (0: any free port), prints
`READY <port>` on stdout once it accepts requests, and stops on SIGTERM or
SIGINT. With `--profile`, the whole run is under cProfile and the stats are
written to FILE on stop (cProfile roughly doubles the CPU cost; use it to find
hot spots, not to take figures). It counts the CPU time of the event loop's
thread, not wall time, so other processes on a busy machine do not inflate it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import signal
import sys
import time

from bot import logs
from bot.__main__ import run_loop
from bot.main import Bot
from bot.settings import Settings


async def serve() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    logs.configure(
        settings.BOT_LOG_LEVEL,
        settings.SLACK_BOT_TOKEN,
        settings.SLACK_SIGNING_SECRET,
        settings.OPENAI_API_KEY,
    )
    bot = await Bot.start(settings, host="127.0.0.1")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {bot.port}", flush=True)
    await stop.wait()
    await bot.stop(grace=1.0)  # figures are taken before the stop


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve_bot", description=__doc__)
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats to FILE")
    args = parser.parse_args()
    if not args.profile:
        run_loop(serve())
        return 0
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    try:
        run_loop(serve())
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
