"""`python -m bot …` run to its end, as an operator types it: its exit code and output."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.process import REPO


@dataclass
class Finished:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.strip().splitlines()


async def run_bot(
    settings: dict[str, str],
    workdir: Path,
    *args: str,
    timeout: float = 60.0,  # noqa: ASYNC109 - a deadline for the whole run
) -> Finished:
    """Run `python -m bot *args` in `workdir` with only `settings` (and PATH) in its
    environment, and wait for it to exit. Asynchronous, so the fakes keep answering."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **settings}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=workdir, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())
