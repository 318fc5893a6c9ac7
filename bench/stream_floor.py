"""What one streamed delta costs below the bot: reading it off the socket.

    python -m bench.stream_floor [--streams 100] [--seconds 10]

A loopback server in another process streams `--streams` SSE responses at once,
each with its deltas spread evenly over `--seconds` (as bench/live_answers.py's
fake model does), twice: with 10 and with 100 deltas per stream. This process
reads them (uvloop, as the bot runs) and counts its CPU per delta, the
difference of the two runs over the difference of their deltas, for:

- `aiohttp`: aiohttp's own client, reading each chunk and nothing else;
- `httpx`: httpx on the httpx-aiohttp transport (the bot's stack), the same;
- `bot`: the bot's ResponsesClient: chunks split into events, parsed, and each
  folded into the answer's state by the reducer.

With deltas this far apart every delta is one wakeup of the event loop, one
read from the socket and one pass through the HTTP client's layers; the first
two lines are the floor under the bot's CPU per delta. Linux only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import socket
import subprocess
import sys
import time

import aiohttp
import httpx
import uvloop
from aiohttp import web
from httpx_aiohttp import AiohttpTransport

from bot.responses.client import ResponsesClient
from bot.responses.reducer import Answer, reduce

FEW, MANY = 10, 100


def _frame(event: dict[str, object]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


def serve(port: int) -> None:
    """The server: `POST /v1/responses` with {"deltas": N, "gap": seconds}."""

    async def respond(request: web.Request) -> web.StreamResponse:
        asked = await request.json()
        deltas, gap = int(asked.get("deltas", FEW)), float(asked.get("gap", 0.1))
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await stream.prepare(request)
        opened = {"type": "response.created", "response": {"id": "resp_1"}}
        await stream.write(_frame({**opened, "sequence_number": 0}))
        for n in range(deltas):
            await asyncio.sleep(gap)
            delta = {
                "type": "response.output_text.delta",
                "sequence_number": n + 1,
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": f"w{n} ",
                "logprobs": [],
                "obfuscation": "aB3dE5gH7j",
            }
            await stream.write(_frame(delta))
        done = {"type": "response.completed", "sequence_number": deltas + 1}
        await stream.write(_frame({**done, "response": {"id": "resp_1", "output": []}}))
        await stream.write_eof()
        return stream

    app = web.Application()
    app.router.add_post("/v1/responses", respond)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def read_all(way: str, url: str, streams: int, deltas: int, seconds: float) -> float:
    """CPU seconds to read `streams` streams of `deltas` deltas each, all at once."""
    body = {"model": "m", "deltas": deltas, "gap": seconds / deltas}
    session = aiohttp.ClientSession()
    http = httpx.AsyncClient(transport=AiohttpTransport(), timeout=60)
    model = ResponsesClient(url, "sk-bench")

    async def one() -> None:
        if way == "aiohttp":
            async with session.post(url + "/responses", json=body) as response:
                async for _ in response.content.iter_any():
                    pass
        elif way == "httpx":
            async with http.stream("POST", url + "/responses", json=body) as streamed:
                async for _ in streamed.aiter_raw():
                    pass
        else:
            answer = Answer()
            async for event in model.stream(body):
                answer = reduce(answer, event)

    try:
        await one()  # connections and imports warm
        before = cpu()
        await asyncio.gather(*(one() for _ in range(streams)))
        return cpu() - before
    finally:
        await session.close()
        await http.aclose()
        await model.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stream_floor", description=__doc__)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "bench.stream_floor", "--serve", str(port)])
    try:
        time.sleep(2.0)
        url = f"http://127.0.0.1:{port}/v1"
        print("| reading | CPU per delta, µs |")
        print("| --- | ---: |")
        for way in ("aiohttp", "httpx", "bot"):
            few = uvloop.run(read_all(way, url, args.streams, FEW, args.seconds))
            many = uvloop.run(read_all(way, url, args.streams, MANY, args.seconds))
            print(f"| {way} | {(many - few) / (args.streams * (MANY - FEW)) * 1e6:.0f} |")
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
