"""The pure parts of monitoring and start-up checks: what an endpoint's answer means, how
health checks spare the database, how refusals and label values are bounded, JSON lines,
and the fake model answering the start-up check as the API does."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path

import httpx
import pytest

from bot.logs import JsonLines, NoBodies
from bot.metrics import Labels
from bot.responses.client import ResponsesClient
from bot.responses.endpoint_check import check_endpoint, host_of, judge_reply
from bot.settings import SettingsError, load_database_settings
from bot.slack.refusals import Refusals, reason
from bot.store.health import DatabaseHealth
from tests.fakes.responses_api import FakeModel

BASE = "https://user:secret@proxy.example.com:8443/openai"


def body(code: str | None = None, param: str | None = None, message: str = "x") -> bytes:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return json.dumps({"error": error}).encode()


def test_the_endpoint_s_answers_that_stop_the_start_and_those_that_do_not() -> None:
    assert host_of(BASE) == "proxy.example.com:8443"  # never the credentials
    assert judge_reply(BASE, 400, body("missing_required_parameter", "model")) is None
    assert judge_reply(BASE, 429, body("rate_limit_exceeded")) is None
    refused = judge_reply(BASE, 403, body("unsupported_country_region_territory"))
    assert refused is not None and refused.stops and "OPENAI_API_KEY" in refused.line
    missing = judge_reply(BASE, 404, body(None, None, "Invalid URL (POST /openai/responses)"))
    assert missing is not None and missing.stops
    assert "proxy.example.com:8443 (/openai/responses answers 404)" in missing.line
    assert "secret" not in missing.line
    # A proxy that says 404 for a model it does not know has the route: not a wrong URL.
    unknown_model = judge_reply(BASE, 404, body("model_not_found", "model"))
    assert unknown_model is not None and not unknown_model.stops
    for status in (500, 502, 503, 405, 301):
        unclear = judge_reply(BASE, status, b"<html>")
        assert unclear is not None and not unclear.stops and "starting anyway" in unclear.line


async def test_the_fake_answers_the_check_as_the_api_does(fake_model: FakeModel) -> None:
    async with httpx.AsyncClient() as http:
        unknown = await http.post(fake_model.url.removesuffix("/v1") + "/responses", json={})
        no_key = await http.post(f"{fake_model.url}/responses", json={})
        check = await http.post(
            f"{fake_model.url}/responses", json={}, headers={"Authorization": "Bearer sk-k"}
        )
    assert unknown.status_code == 404  # an unknown route: as a base URL without /v1 gets
    assert no_key.status_code == 401  # the key is checked before the body
    assert check.status_code == 400
    assert check.json()["error"]["code"] == "missing_required_parameter"
    assert fake_model.requests == [] and len(fake_model.checks) == 2

    client = ResponsesClient(fake_model.url, "sk-right")
    try:
        assert await check_endpoint(client, fake_model.url) is None
        fake_model.accepted_keys = {"sk-other"}
        refused = await check_endpoint(client, fake_model.url)
        assert refused is not None and refused.stops and "sk-right" not in refused.line
    finally:
        await client.aclose()


class CountingDatabase:
    def __init__(self) -> None:
        self.pings = 0
        self.gone = False
        self.release = asyncio.Event()

    async def ping(self) -> None:
        self.pings += 1
        await self.release.wait()
        if self.gone:
            raise ConnectionRefusedError("gone")


async def test_health_checks_ask_the_database_once_however_many_probes_come() -> None:
    database = CountingDatabase()
    health = DatabaseHealth(database, fresh=60.0)
    probes = [asyncio.create_task(health.answers()) for _ in range(50)]
    await asyncio.sleep(0)
    database.release.set()
    assert await asyncio.gather(*probes) == [True] * 50
    assert await health.answers() is True
    assert database.pings == 1  # fresh for a minute here: the answer is kept


async def test_a_database_that_does_not_answer_in_time_is_unhealthy() -> None:
    database = CountingDatabase()  # never released: hangs
    health = DatabaseHealth(database, timeout=0.05, fresh=0.0)
    assert await health.answers() is False
    database.gone = True
    database.release.set()
    assert await health.answers() is False
    database.gone = False
    assert await health.answers() is True


def test_refusals_are_counted_each_and_logged_at_most_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counted: list[str] = []
    now = [1000.0]
    refusals = Refusals(counted.append, clock=lambda: now[0])
    signed = {"x-slack-request-timestamp": ["9999999999"], "x-slack-signature": ["v0=00"]}
    with caplog.at_level(logging.INFO, logger="bot.slack.refusals"):
        for _ in range(3):
            refusals.refused({})
        now[0] += 61
        refusals.refused(signed)
    assert counted == ["unsigned"] * 3 + ["stale_timestamp"]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "refused 1 request(s)" in messages[0]
    assert "refused 3 request(s)" in messages[1]  # two since the last line, and this one
    assert "2 unsigned" in messages[1] and "1 stale_timestamp" in messages[1]


def test_a_refusal_s_reason() -> None:
    now = 1_700_000_000.0
    stamp = {"x-slack-request-timestamp": [str(int(now))]}
    assert reason({}, now) == "unsigned"
    assert reason({**stamp, "x-slack-signature": ["v0=ab"]}, now) == "bad_signature"
    assert reason({**stamp, "x-slack-signature": ["v0=ab"]}, now + 301) == "stale_timestamp"
    assert reason({"x-slack-request-timestamp": ["soon"], "x-slack-signature": ["v0"]}, now) == (
        "stale_timestamp"
    )


def test_label_values_from_outside_are_bounded() -> None:
    labels = Labels(most=3)
    assert [labels(v) for v in ("a", "b", "c", "d", "a", "")] == [
        "a",
        "b",
        "c",
        "other",
        "a",
        "other",
    ]
    assert len(Labels()("x" * 500)) == 64


def test_json_lines_carry_the_exception_text() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonLines())
    handler.addFilter(NoBodies())
    logger = logging.getLogger("bot.test_json_lines")
    logger.addHandler(handler)
    library = logging.getLogger("slack_bolt.Test")
    library.addHandler(handler)
    try:
        try:
            raise ValueError("broken")
        except ValueError:
            logger.exception("answering a turn failed")
        library.warning("Invalid request signature detected (body: secret text)")
    finally:
        logger.removeHandler(handler)
        library.removeHandler(handler)
    [line] = out.getvalue().splitlines()  # bolt's line quoting a body is dropped
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "bot.test_json_lines"
    assert entry["message"] == "answering a turn failed"
    assert "ValueError: broken" in entry["exception"]


def test_database_commands_need_only_the_database_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "OPENAI_API_KEY", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgres://u:pw@db/bot")
    assert load_database_settings().DATABASE_URL == "postgresql+asyncpg://u:pw@db/bot"
    monkeypatch.setenv("DATABASE_URL", "oracle://u:pw@db/bot")
    with pytest.raises(SettingsError) as raised:
        load_database_settings()
    assert "DATABASE_URL is invalid: the 'oracle' database is not supported" in str(raised.value)
    assert "pw" not in str(raised.value)
