"""The bare bolt app that bench/ack_and_answers.py measures the bot's acks against is a
fair floor: like the bot, it acks only what Slack signed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.fakes.slack_api import FakeSlack
from tests.support.process import REPO


@dataclass
class Bare:
    port: int


@pytest.fixture
async def bare(fake_slack: FakeSlack, signing_secret: str) -> AsyncIterator[Bare]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": fake_slack.url,
        "PORT": "0",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.serve_bot", "--bare", cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        assert line.startswith(b"READY "), line
        yield Bare(int(line.split()[1]))
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_the_bare_app_acks_signed_mentions_and_refuses_unsigned_ones(
    bare: Bare, slack: SlackSender
) -> None:
    signed = await slack.event(bare, mention("<@UBOT> hello"))
    assert signed.status == 200
    unsigned = await slack.raw(bare, '{"type": "event_callback"}', sign_request=False)
    assert unsigned.status == 401
    wrong = await slack.raw(bare, '{"type": "event_callback"}', secret="another-secret-0123")
    assert wrong.status == 401
