"""`python -m bot console`: one Slack thread in a terminal, against the same core."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.fakes.responses_api import FakeModel, answer, http_error

REPO = Path(__file__).resolve().parents[2]


async def run_console(
    fake_model: FakeModel, tmp_path: Path, lines: str, **more_env: str
) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "BOT_"))}
    env.update(
        OPENAI_API_KEY="sk-test-key",
        OPENAI_BASE_URL=fake_model.url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/console.db",
        PYTHONPATH=str(REPO),  # this checkout's bot, wherever it is installed
        **more_env,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "console",
        cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(lines.encode()), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_console_is_one_chained_thread(fake_model: FakeModel, tmp_path: Path) -> None:
    first = answer("Hello from the model.")
    fake_model.enqueue(first, answer("Still the same thread."))
    code, out, _ = await run_console(fake_model, tmp_path, "hello\nand again\n\n")
    assert code == 0
    assert "bot> Hello from the model." in out
    assert "bot> Still the same thread." in out
    second = fake_model.requests[1].json
    assert second["previous_response_id"] == first.response_id
    assert second["input"][-1]["content"][-1]["text"].endswith(": and again")


async def test_the_console_shows_failures_as_slack_would(
    fake_model: FakeModel, tmp_path: Path
) -> None:
    fake_model.enqueue(http_error(401, "invalid_api_key", "Incorrect API key provided"))
    code, out, err = await run_console(fake_model, tmp_path, "hello\n\n")
    assert code == 0
    assert "[The model's service refused the bot's API key. Please tell the bot's admin.]" in out
    assert "sk-test-key" not in out + err


async def test_the_console_needs_only_the_api_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "BOT_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "console", cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert err.decode().strip().splitlines() == [
        "Setting error: OPENAI_API_KEY is not set (the key sent to the Responses API). "
        "Set it in the environment or in .env."
    ]
