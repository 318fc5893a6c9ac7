"""Send signed `app_mention` events at a fixed rate, from a process of its own.

    python -m bench.event_sender PORT RATE COUNT [--first N]

Used by bench/ack_and_answers.py: timing acks in the process that also serves
the fake Slack and model would add that process's own event-loop lag to every
ack, and the bot (which keeps the fakes busy) would be charged for it while a
bare app (which does not) would not. Prints one JSON object on stdout: when
each event was sent (by its thread ts, on the system-wide monotonic clock), the
HTTP 200 acks' latencies, failures, and how late the sends started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field

import aiohttp

from bot.__main__ import run_loop
from tests.e2e import payloads
from tests.e2e.harness import SlackSender

SECRET = "bench-signing-secret-0123456789abcdef"
ACK_TIMEOUT = 10.0  # a request not acked by then is abandoned (and counted as failed)


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


def thread_ts(n: int) -> str:
    return f"{1_690_000_000 + n // 1_000_000}.{n % 1_000_000:06d}"


async def send_events(
    sender: SlackSender, target: Target, rate: float, count: int, first: int
) -> Load:
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
            f"<@UBOT> question {index}, answer briefly",
            channel=f"C{index}",
            team=team,
            ts=thread_ts(index + 1),
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
        task = asyncio.create_task(one(first + index))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(set(tasks), timeout=ACK_TIMEOUT + 5)
    load.generator_cpu = (time.process_time() - cpu_before) / (time.monotonic() - wall_before)
    return load


async def send(port: int, rate: float, count: int, first: int) -> None:
    timeout = aiohttp.ClientTimeout(total=ACK_TIMEOUT)
    # No connection limit: like Slack, the sender opens connections as needed
    # rather than queueing requests behind a pool (which would inflate latency).
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        load = await send_events(
            SlackSender(session, SECRET, None), Target(port), rate, count, first
        )
    print(json.dumps(asdict(load)), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.event_sender", description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("rate", type=float, help="events per second")
    parser.add_argument("count", type=int, help="events to send")
    parser.add_argument("--first", type=int, default=0, help="index of the first event")
    args = parser.parse_args()
    run_loop(send(args.port, args.rate, args.count, args.first))
    return 0


if __name__ == "__main__":
    sys.exit(main())
