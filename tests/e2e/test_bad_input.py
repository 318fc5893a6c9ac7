"""Bad input: empty mentions, oversized questions, malformed and unknown payloads (issue 3).

A payload the bot cannot use is acknowledged (2xx) or refused (4xx), never a 5xx,
and the bot goes on answering afterwards.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import warnings
from typing import Any

import pytest

from bot.conversation import notices
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import dm, mention, new_ts
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack


async def still_answers(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    """A normal mention after the bad input is answered as usual."""
    before = len(fake_model.requests)
    fake_model.enqueue(answer("Still here."))
    event = mention("<@UBOT> are you still there?", channel="C9")
    assert (await slack.event(bot, event)).status == 200
    [message] = await answer_in(bot, fake_slack, "C9", event["ts"])
    assert message.visible == "Still here."
    assert len(fake_model.requests) == before + 1


@pytest.mark.parametrize("text", ["<@UBOT>", "<@UBOT>   ", "  <@UBOT|bot> \t"])
async def test_an_empty_mention_gets_a_short_help(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, text: str
) -> None:
    event = mention(text)
    assert (await slack.event(bot, event)).status == 200

    [message] = await answer_in(bot, fake_slack, "C1", event["ts"])
    assert message.visible == notices.HELP
    assert fake_model.requests == []
    await still_answers(bot, slack, fake_slack, fake_model)


async def test_a_question_over_the_size_limit_gets_a_polite_refusal_and_no_model_call(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    bot = await start_bot(BOT_MAX_QUESTION_CHARS=50)
    first = answer("A short question, a short answer.")
    fake_model.enqueue(first)
    top = mention("<@UBOT> short one")
    await slack.event(bot, top)
    await answer_in(bot, fake_slack, "C1", top["ts"])

    big = mention("<@UBOT> " + "why " * 40, thread_ts=top["ts"])
    assert (await slack.event(bot, big)).status == 200
    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert shown[1].visible == notices.too_long(50)
    assert "50 characters" in shown[1].visible
    assert len(fake_model.requests) == 1
    # Exactly 50 characters is still a question; and the thread's chain is untouched.
    fake_model.enqueue(answer("Fits."))
    await slack.event(bot, mention("<@UBOT> " + "x" * 50, thread_ts=top["ts"]))
    shown = await answer_in(bot, fake_slack, "C1", top["ts"], count=3)
    assert shown[2].visible == "Fits."
    assert fake_model.requests[-1].json["previous_response_id"] == first.response_id


def envelope(event: Any, **fields: Any) -> dict[str, Any]:
    body = {
        "token": "verification-token",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": f"EvBad{new_ts().replace('.', '')}",
        "event_time": int(time.time()),
        "event": event,
    }
    body.update(fields)
    return body


GOOD = mention("<@UBOT> a question")

# Bodies sent as JSON, each signed.
BAD_JSON: list[tuple[str, Any]] = [
    ("empty object", {}),
    ("list", [1, 2, 3]),
    ("null", None),
    ("number", 42),
    ("string", "event_callback"),
    ("unknown envelope type", {"type": "mystery_callback", "team_id": "T1"}),
    ("no event", envelope(None)),
    ("event is a string", envelope("app_mention")),
    ("event is a list", envelope([GOOD])),
    ("event without type", envelope({k: v for k, v in GOOD.items() if k != "type"})),
    ("event type is a number", envelope({**GOOD, "type": 7})),
    ("event type is a dict", envelope({**GOOD, "type": {"x": 1}})),
    ("unknown event type", envelope({**GOOD, "type": "galaxy_collapsed"})),
    ("reaction_added", envelope({"type": "reaction_added", "user": "U1", "reaction": "+1"})),
    ("mention without user", envelope({k: v for k, v in GOOD.items() if k != "user"})),
    ("mention without channel", envelope({k: v for k, v in GOOD.items() if k != "channel"})),
    ("mention without ts", envelope({k: v for k, v in GOOD.items() if k != "ts"})),
    ("mention without text", envelope({k: v for k, v in GOOD.items() if k != "text"})),
    ("user is a number", envelope({**GOOD, "user": 12345})),
    ("user is a list", envelope({**GOOD, "user": ["U1"]})),
    ("channel is a dict", envelope({**GOOD, "channel": {"id": "C1"}})),
    ("ts is a float", envelope({**GOOD, "ts": 1690000000.5})),
    ("ts is not a number", envelope({**GOOD, "ts": "yesterday"})),
    ("text is a dict", envelope({**GOOD, "text": {"text": "hi"}})),
    ("text is a list", envelope({**GOOD, "text": ["hi"]})),
    ("thread_ts is a list", envelope({**GOOD, "thread_ts": ["1.2"]})),
    ("subtype is a list", envelope({**GOOD, "subtype": ["bot_message"]})),
    ("subtype is a dict", envelope({**GOOD, "subtype": {"a": 1}})),
    ("bot_id is a list", envelope({**GOOD, "bot_id": []})),
    ("dm with channel_type list", envelope({**dm("hi"), "channel_type": ["im"]})),
    ("team_id is a list", envelope(GOOD, team_id=["T1"])),
    ("authorizations garbage", envelope(GOOD, authorizations="none")),
    ("authorizations of garbage", envelope(GOOD, authorizations=[None, 5, "x"])),
    ("event_id is a dict", envelope(GOOD, event_id={"id": 1})),
    ("url_verification without challenge", {"type": "url_verification", "token": "t"}),
    ("url_verification with dict challenge", {"type": "url_verification", "challenge": {}}),
    ("deeply nested", envelope({"type": "app_mention", "x": [[[[[[[[[[[]]]]]]]]]]]})),
]


# Raw bodies: not JSON, wrong content types, broken forms, odd headers.
RAW: list[tuple[str, bytes, str, dict[str, str]]] = [
    ("garbage", b"\x00\xff garbage {{{", "application/json", {}),
    (
        "truncated json",
        b'{"type": "event_callback", "event": {"type": "app_m',
        "application/json",
        {},
    ),
    ("empty body", b"", "application/json", {}),
    ("not utf-8", '{"text": "caf\u00e9"}'.encode("latin-1"), "application/json", {}),
    ("text/plain", json.dumps(envelope(GOOD)).encode(), "text/plain", {}),
    ("form without payload", b"a=1&b=2", "application/x-www-form-urlencoded", {}),
    (
        "form with garbage payload",
        b"payload=%7Bnot+json",
        "application/x-www-form-urlencoded",
        {},
    ),
    (
        "form with a payload of no known type",
        urllib.parse.urlencode({"payload": json.dumps({"type": "mystery"})}).encode(),
        "application/x-www-form-urlencoded",
        {},
    ),
    (
        "block_actions without actions",
        urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions"})}).encode(),
        "application/x-www-form-urlencoded",
        {},
    ),
    (
        "slash command with no fields",
        b"command=%2Fask",
        "application/x-www-form-urlencoded",
        {},
    ),
    (
        "unknown slash command",
        urllib.parse.urlencode(
            {"command": "/nope", "text": "x", "team_id": "T1", "user_id": "U1"}
        ).encode(),
        "application/x-www-form-urlencoded",
        {},
    ),
    (
        "retry header garbage",
        json.dumps(envelope({**GOOD, "user": 5})).encode(),
        "application/json",
        {"X-Slack-Retry-Num": "many", "X-Slack-Retry-Reason": "\u00e9"},
    ),
]


async def test_unsigned_stale_and_oversized_requests_are_refused_with_4xx(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    body = json.dumps(envelope(GOOD))
    assert (await slack.raw(bot, body, sign_request=False)).status == 401
    stale = int(time.time()) - 60 * 60
    assert (await slack.raw(bot, body, timestamp=stale)).status == 401
    assert (await slack.raw(bot, body, timestamp="not-a-time")).status in (400, 401)
    huge = json.dumps(envelope({**GOOD, "text": "x" * 2_000_000}))
    with warnings.catch_warnings():  # aiohttp's client warns about sending 2 MB of bytes
        warnings.simplefilter("ignore", ResourceWarning)
        assert 400 <= (await slack.raw(bot, huge)).status < 500
    await bot.idle()
    assert fake_model.requests == []
    await still_answers(bot, slack, fake_slack, fake_model)


async def test_malformed_json_payloads_never_get_a_5xx_and_the_bot_goes_on(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    statuses = {name: (await slack.raw(bot, json.dumps(body))).status for name, body in BAD_JSON}
    assert {name: s for name, s in statuses.items() if s >= 500} == {}
    await bot.idle()  # whatever was made of them has settled (odd but usable ones are answered)
    await still_answers(bot, slack, fake_slack, fake_model)


async def test_malformed_raw_payloads_never_get_a_5xx_and_the_bot_goes_on(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    statuses = {}
    for name, body, content_type, headers in RAW:
        reply = await slack.raw(bot, body, content_type=content_type, headers=headers)
        statuses[name] = reply.status
    assert {name: s for name, s in statuses.items() if s >= 500} == {}
    await bot.idle()
    await still_answers(bot, slack, fake_slack, fake_model)


async def test_each_malformed_payload_alone_never_gets_a_5xx(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    """The same payloads again, each followed by a normal mention that must be answered."""
    for name, body in BAD_JSON[:12]:
        assert (await slack.raw(bot, json.dumps(body))).status < 500, name
        await still_answers(bot, slack, fake_slack, fake_model)
