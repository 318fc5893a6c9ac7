"""The bot as operators run it: `python -m bot` in a process of its own, to signal."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BotProcess:
    """`python -m bot` with the given settings (its environment holds nothing else of
    ours), in `workdir`; `port` is where it listens."""

    def __init__(self, settings: dict[str, Any], workdir: Path) -> None:
        self.port = free_port()
        self._env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),  # this checkout's bot, wherever it is installed
            **{name: str(value) for name, value in settings.items()},
            "PORT": str(self.port),
        }
        self._workdir = workdir
        self._process: asyncio.subprocess.Process | None = None
        self.log = workdir / f"bot-{self.port}.log"

    async def start(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109 - a deadline
        """Start it and wait until `/healthz` answers 200."""
        with self.log.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=self._workdir, env=self._env,
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                if self._process.returncode is not None:
                    raise AssertionError(f"the bot exited at start:\n{self.log.read_text()}")
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as reply:
                        if reply.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if loop.time() > deadline:
                    raise AssertionError(f"the bot was not ready in time:\n{self.log.read_text()}")
                await asyncio.sleep(0.05)

    async def signal(self, sig: signal.Signals, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """Send `sig` and wait for the process to end; its exit code."""
        assert self._process is not None
        self._process.send_signal(sig)
        return await asyncio.wait_for(self._process.wait(), timeout)

    async def close(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
