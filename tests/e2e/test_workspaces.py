"""Many workspaces: installed through OAuth, each answered with its own bot token.

The bot runs with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (no SLACK_BOT_TOKEN);
FakeSlack plays Slack's authorize page and `oauth.v2.access`, and refuses any
call made with another workspace's token (or a revoked one).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.slack.install import BOT_SCOPES
from bot.store.installations import Installations
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackReply, SlackSender, SocketSender, event_callback
from tests.e2e.payloads import assistant_thread_started, dm, mention, new_ts
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """An installer's browser; cookies are carried by hand (the bot's are `Secure`)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


async def oauth_bot(start_bot: StartBot, fake_slack: FakeSlack, **overrides: Any) -> BotHandle:
    """A bot that installs through OAuth; Slack knows its redirect URL once it listens."""
    bot = await start_bot(
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID=fake_slack.installs.client_id,
        SLACK_CLIENT_SECRET=fake_slack.installs.client_secret,
        **overrides,
    )
    fake_slack.installs.redirect_uri = f"{bot.url}/slack/oauth_redirect"
    return bot


async def install(
    browser: aiohttp.ClientSession, bot: BotHandle, fake_slack: FakeSlack, team: str
) -> tuple[int, str]:
    """GET /slack/install → Slack's authorize page → back to the bot: (status, page)."""
    async with browser.get(
        f"{bot.url}/slack/install?team={team}", allow_redirects=False
    ) as started:
        assert started.status == 302, await started.text()
        to_slack = started.headers["Location"]
        cookie = started.headers["Set-Cookie"].split(";")[0]
    assert to_slack.startswith(fake_slack.authorize_url)
    async with browser.get(to_slack, allow_redirects=False) as approved:
        assert approved.status == 302, await approved.text()
        back = approved.headers["Location"]
    async with browser.get(back, headers={"Cookie": cookie}) as finished:
        return finished.status, await finished.text()


async def installed(
    browser: aiohttp.ClientSession, bot: BotHandle, fake_slack: FakeSlack, team: str, **opts: Any
) -> str:
    """Install the app in a new workspace `team`; its bot token."""
    fake_slack.add_workspace(team, **opts)
    status, page = await install(browser, bot, fake_slack, team)
    assert status == 200, page
    return fake_slack.installs.token_of(team)


async def until_uninstalled(bot: BotHandle, team: str) -> None:
    """Wait until the bot's database no longer holds the workspace's installation."""
    installations = Installations(bot.bot._store)
    deadline = asyncio.get_running_loop().time() + 10
    while await installations.async_find_installation(enterprise_id=None, team_id=team):
        assert asyncio.get_running_loop().time() < deadline, f"{team} is still installed"
        await asyncio.sleep(0.02)  # polling the database, not a fixed wait


def channel_calls(fake_slack: FakeSlack, channel: str) -> list[Any]:
    return [c for c in fake_slack.calls if c.args.get("channel") == channel]


async def test_a_workspace_installs_through_oauth_and_its_mentions_are_answered_with_its_token(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await oauth_bot(start_bot, fake_slack)
    fake_slack.add_workspace("T2", channels=("C2",))
    status, page = await install(browser, bot, fake_slack, "T2")

    assert status == 200 and "Thank you" in page
    [asked] = fake_slack.installs.authorize_requests
    assert asked["client_id"] == fake_slack.installs.client_id
    assert asked["scope"].split(",") == list(BOT_SCOPES)
    [exchange] = fake_slack.calls_to("oauth.v2.access")
    assert exchange.ok and exchange.args["code"].startswith("code-")
    token = fake_slack.installs.token_of("T2")

    fake_model.enqueue(answer("Hello, new workspace."))
    top = mention("<@UBOTT2> hello there", channel="C2", team="T2")
    assert (await slack.event(bot, top, team_id="T2")).status == 200
    [message] = await answer_in(bot, fake_slack, "C2", top["ts"])

    assert message.visible == "Hello, new workspace." and message.team == "T2"
    # The mention of this workspace's bot user was taken out of the question.
    assert fake_model.requests[0].json["input"][-1]["content"][0]["text"] == "<@U1>: hello there"
    calls = channel_calls(fake_slack, "C2")
    assert calls and all(c.ok and c.token == token for c in calls), fake_slack.summary()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert "installed in workspace T2" in logged
    assert token not in logged and fake_slack.installs.client_secret not in logged


async def test_two_workspaces_are_answered_each_with_its_own_token(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await oauth_bot(start_bot, fake_slack)
    tokens = {
        team: await installed(browser, bot, fake_slack, team, channels=(channel,))
        for team, channel in (("T2", "C2"), ("T3", "C3"))
    }
    fake_model.enqueue(answer("For T2."), answer("For T3."))
    first = mention("<@UBOTT2> one", channel="C2", team="T2")
    second = mention("<@UBOTT3> two", channel="C3", team="T3")
    await slack.event(bot, first, team_id="T2")
    await slack.event(bot, second, team_id="T3")

    [in_t2] = await answer_in(bot, fake_slack, "C2", first["ts"])
    [in_t3] = await answer_in(bot, fake_slack, "C3", second["ts"])
    assert {in_t2.visible, in_t3.visible} == {"For T2.", "For T3."}
    for team, channel in (("T2", "C2"), ("T3", "C3")):
        calls = channel_calls(fake_slack, channel)
        assert calls and all(c.ok and c.token == tokens[team] for c in calls), fake_slack.summary()
    assert not [c for c in fake_slack.calls if not c.ok], fake_slack.summary()


async def test_the_same_channel_and_thread_in_two_workspaces_are_two_conversations(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await oauth_bot(start_bot, fake_slack)
    await installed(browser, bot, fake_slack, "T2")
    await installed(browser, bot, fake_slack, "T3")
    first = answer("In T2.")
    fake_model.enqueue(first, answer("Again in T2."), answer("In T3."))
    ts = new_ts()
    await slack.event(bot, mention("<@UBOTT2> start", channel="C1", ts=ts, team="T2"), team_id="T2")
    await answer_in(bot, fake_slack, "C1", ts)
    await slack.event(
        bot, mention("<@UBOTT2> more", channel="C1", thread_ts=ts, team="T2"), team_id="T2"
    )
    await answer_in(bot, fake_slack, "C1", ts, count=2)
    # Another workspace, the very same channel id and ts.
    await slack.event(bot, mention("<@UBOTT3> hi", channel="C1", ts=ts, team="T3"), team_id="T3")
    await fake_model.wait_for_requests(3)
    await bot.idle()

    requests = [r.json for r in fake_model.requests]
    assert requests[1]["previous_response_id"] == first.response_id  # T2's chain
    assert "previous_response_id" not in requests[2]  # T3's thread starts its own
    mine = [m for m in fake_slack.thread_messages("C1", ts) if m.team == "T3"]
    assert [m.visible for m in mine] == ["In T3."]


async def test_an_uninstalled_workspace_is_not_answered_and_its_old_token_is_not_used(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await oauth_bot(start_bot, fake_slack)
    old = await installed(browser, bot, fake_slack, "T2")
    fake_model.enqueue(answer("Before."))
    top = mention("<@UBOTT2> hello", channel="C2", team="T2")
    await slack.event(bot, top, team_id="T2")
    await answer_in(bot, fake_slack, "C2", top["ts"])

    fake_slack.installs.uninstall("T2")
    gone = {"type": "app_uninstalled", "event_ts": new_ts()}
    assert (await slack.event(bot, gone, team_id="T2")).status == 200
    await until_uninstalled(bot, "T2")  # acknowledged first, then removed
    before = len(fake_slack.calls)
    late = mention("<@UBOTT2> still there?", channel="C2", team="T2")
    reply = await slack.event(bot, late, team_id="T2")
    await bot.idle()

    assert reply.status == 200
    assert len(fake_model.requests) == 1  # not answered
    assert [c for c in fake_slack.calls[before:] if c.token == old] == []
    assert fake_slack.thread_messages("C2", late["ts"]) == []

    # Installed again: answered again, with the new token.
    new = await installed(browser, bot, fake_slack, "T2")
    fake_model.enqueue(answer("Back."))
    again = mention("<@UBOTT2> back?", channel="C2", team="T2")
    await slack.event(bot, again, team_id="T2")
    [message] = await answer_in(bot, fake_slack, "C2", again["ts"])
    assert message.visible == "Back." and new != old


async def test_revoked_bot_tokens_remove_the_installation(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await oauth_bot(start_bot, fake_slack)
    await installed(browser, bot, fake_slack, "T2")
    revoked = {"type": "tokens_revoked", "tokens": {"bot": ["UBOTT2"]}, "event_ts": new_ts()}
    assert (await slack.event(bot, revoked, team_id="T2")).status == 200
    await until_uninstalled(bot, "T2")
    before = len(fake_slack.calls)
    await slack.event(bot, mention("<@UBOTT2> hi", channel="C2", team="T2"), team_id="T2")
    await bot.idle()
    assert fake_model.requests == [] and fake_slack.calls[before:] == []


async def test_a_bad_or_used_oauth_state_gets_a_clear_page_and_installs_nothing(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    fake_slack: FakeSlack,
) -> None:
    bot = await oauth_bot(start_bot, fake_slack)
    redirect = f"{bot.url}/slack/oauth_redirect"

    forged = "state-nobody-issued"
    async with browser.get(
        f"{redirect}?code=code-1&state={forged}",
        headers={"Cookie": f"slack-app-oauth-state={forged}"},
    ) as reply:
        assert reply.status == 401
        page = await reply.text()
    assert "expired or was already used" in page and "/slack/install" in page

    async with browser.get(f"{redirect}?code=code-1&state={forged}") as reply:  # no cookie
        assert reply.status == 400
        assert "another browser" in await reply.text()
    async with browser.get(redirect) as reply:  # nothing at all
        assert 400 <= reply.status < 500

    # A state is good once: the same redirect replayed after an install is refused.
    fake_slack.add_workspace("T2")
    async with browser.get(f"{bot.url}/slack/install?team=T2", allow_redirects=False) as r:
        cookie = r.headers["Set-Cookie"].split(";")[0]
        to_slack = r.headers["Location"]
    async with browser.get(to_slack, allow_redirects=False) as r:
        back = r.headers["Location"]
    async with browser.get(back, headers={"Cookie": cookie}) as r:
        assert r.status == 200
    async with browser.get(back, headers={"Cookie": cookie}) as r:
        assert r.status == 401
    assert [c.ok for c in fake_slack.calls_to("oauth.v2.access")] == [True]
    async with browser.get(f"{bot.url}/healthz") as r:
        assert r.status == 200


async def test_a_rotating_token_is_renewed_before_it_expires_and_the_new_one_answers(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await oauth_bot(start_bot, fake_slack)
    # Ten minutes left: inside the two hours before expiry when tokens are renewed.
    first = await installed(browser, bot, fake_slack, "T2", rotating=True, expires_in=600)
    fake_model.enqueue(answer("Fresh token."))
    top = mention("<@UBOTT2> hello", channel="C2", team="T2")
    await slack.event(bot, top, team_id="T2")
    [message] = await answer_in(bot, fake_slack, "C2", top["ts"])

    assert message.visible == "Fresh token."
    refreshes = [c for c in fake_slack.calls_to("oauth.v2.access") if c.args.get("grant_type")]
    assert refreshes and refreshes[0].args["grant_type"] == "refresh_token"
    assert refreshes[0].ok
    renewed = fake_slack.installs.token_of("T2")
    assert renewed != first and renewed.startswith("xoxe.xoxb-")
    calls = channel_calls(fake_slack, "C2")
    assert calls and all(c.token == renewed for c in calls), fake_slack.summary()


async def test_an_answer_resumed_after_a_restart_uses_its_workspace_s_token(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await oauth_bot(start_bot, fake_slack)
    token = await installed(browser, bot, fake_slack, "T2", channels=("C2",))
    words = [f"w{i} " for i in range(30)]
    script = answer("".join(words), chunks=words, delay=0.1)
    fake_model.enqueue(script)
    top = mention("<@UBOTT2> a long one", channel="C2", team="T2")
    await slack.event(bot, top, team_id="T2")
    await fake_slack.wait_for(lambda: "w1" in fake_slack.thread_text("C2", top["ts"]))
    bot.stopped = True
    await bot.bot.stop(grace=0.1)
    before = len(fake_slack.calls)

    again = await oauth_bot(start_bot, fake_slack)  # the next start, on the same database
    full = "".join(words).strip()
    [message] = fake_slack.thread_messages("C2", top["ts"])
    await fake_slack.wait_for(lambda: message.visible == full, what="the resumed answer")
    await again.idle()
    assert [r for r, _ in fake_model.resumed] == [script.response_id]
    resumed = [c for c in fake_slack.calls[before:] if c.args.get("channel") == "C2"]
    assert resumed and all(c.ok and c.token == token for c in resumed), fake_slack.summary()


async def test_a_slack_connect_user_of_another_team_is_answered_by_the_installed_workspace(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await oauth_bot(start_bot, fake_slack)
    token = await installed(browser, bot, fake_slack, "T2", channels=("C2",))
    fake_model.enqueue(answer("Hello, neighbour."))
    # A user of T9 (which has not installed the app) in a channel shared with T2.
    event = mention("<@UBOTT2> hi from afar", user="U9", channel="C2", team="T9")
    event["user_team"] = event["source_team"] = "T9"
    body = event_callback(event, team_id="T9")
    body["authorizations"][0].update(team_id="T2", user_id="UBOTT2")
    body["is_ext_shared_channel"] = True
    reply = await send(slack, bot, body)

    assert reply.status == 200
    [message] = await answer_in(bot, fake_slack, "C2", event["ts"])
    assert message.visible == "Hello, neighbour." and message.team == "T2"
    assert fake_model.requests[0].json["input"][-1]["content"][0]["text"] == "<@U9>: hi from afar"
    calls = channel_calls(fake_slack, "C2")
    assert calls and all(c.ok and c.token == token for c in calls), fake_slack.summary()


async def test_an_enterprise_grid_org_wide_install_answers_in_every_workspace_of_the_org(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await oauth_bot(start_bot, fake_slack)
    token = await installed(browser, bot, fake_slack, "E1", org_wide=True)
    fake_model.enqueue(answer("Org-wide."), answer("Still org-wide."))
    for team, text in (("T5", "from T5"), ("T6", "from T6")):
        event = mention(f"<@UBOTE1> {text}", channel=f"C{team}", team=team)
        body = event_callback(event, team_id=team)
        body["enterprise_id"] = "E1"
        body["authorizations"][0].update(
            enterprise_id="E1", team_id=None, user_id="UBOTE1", is_enterprise_install=True
        )
        assert (await send(slack, bot, body)).status == 200
        [message] = await answer_in(bot, fake_slack, f"C{team}", event["ts"])
        assert message.team == "E1"
        calls = channel_calls(fake_slack, f"C{team}")
        assert calls and all(c.ok and c.token == token for c in calls), fake_slack.summary()
    assert [r.json["input"][-1]["content"][0]["text"] for r in fake_model.requests] == [
        "<@U1>: from T5",
        "<@U1>: from T6",
    ]


async def test_single_workspace_mode_serves_no_install_pages(
    bot: BotHandle, browser: aiohttp.ClientSession
) -> None:
    async with browser.get(f"{bot.url}/slack/install", allow_redirects=False) as reply:
        assert reply.status == 404


async def send(slack: SlackSender, bot: BotHandle, body: dict[str, Any]) -> SlackReply:
    return await slack.raw(bot, json.dumps(body))


async def test_in_socket_mode_workspaces_install_through_the_same_pages_and_are_answered(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    socket: SocketSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await oauth_bot(
        start_bot, fake_slack, SLACK_APP_TOKEN="xapp-1-A1-1-socket", SLACK_SIGNING_SECRET=""
    )
    token = await installed(browser, bot, fake_slack, "T2", channels=("C2",))
    fake_model.enqueue(answer("Over the socket."))
    top = mention("<@UBOTT2> hello", channel="C2", team="T2")
    await socket.event(top, team_id="T2")
    [message] = await answer_in(bot, fake_slack, "C2", top["ts"])
    assert message.visible == "Over the socket."
    calls = channel_calls(fake_slack, "C2")
    assert calls and all(c.ok and c.token == token for c in calls), fake_slack.summary()


async def test_the_panel_status_and_a_thread_s_history_use_the_workspace_s_token(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await oauth_bot(start_bot, fake_slack)
    token = await installed(browser, bot, fake_slack, "T2", channels=("C2", "D2"))
    # The Assistant panel: greeting, prompts, title and status, all as T2's bot.
    started = assistant_thread_started(channel="D2", team="T2")
    panel_ts = started["assistant_thread"]["thread_ts"]
    await slack.event(bot, started, team_id="T2")
    fake_model.enqueue(answer("From the panel."))
    await slack.event(bot, dm("hello panel", channel="D2", thread_ts=panel_ts, team="T2"),
                      team_id="T2")  # fmt: skip
    shown = await answer_in(bot, fake_slack, "D2", panel_ts, count=2)
    assert shown[-1].visible == "From the panel."
    panel_calls = [c for c in fake_slack.calls if c.method.startswith("assistant.threads.")]
    assert {c.method for c in panel_calls} >= {
        "assistant.threads.setSuggestedPrompts", "assistant.threads.setTitle",
        "assistant.threads.setStatus",
    }  # fmt: skip
    assert all(c.ok and c.token == token for c in panel_calls), fake_slack.summary()

    # Asked late in a thread: its earlier messages are read with T2's token.
    parent = new_ts()
    fake_slack.set_replies(
        "C2", parent, [{"type": "message", "user": "U7", "text": "the build is red", "ts": parent}]
    )
    fake_model.enqueue(answer("Let me look."))
    late = mention("<@UBOTT2> why?", channel="C2", thread_ts=parent, team="T2")
    await slack.event(bot, late, team_id="T2")
    await answer_in(bot, fake_slack, "C2", parent)
    [replies] = fake_slack.calls_to("conversations.replies")
    assert replies.ok and replies.token == token
    assert "the build is red" in json.dumps(fake_model.requests[-1].json["input"])


async def test_when_a_token_cannot_be_renewed_the_current_one_answers_until_its_end(
    start_bot: StartBot,
    browser: aiohttp.ClientSession,
    slack: SlackSender,
    fake_slack: FakeSlack,
    fake_model: FakeModel,
) -> None:
    bot = await oauth_bot(start_bot, fake_slack)
    first = await installed(browser, bot, fake_slack, "T2", rotating=True, expires_in=600)
    fake_slack.fail("oauth.v2.access", "internal_error")  # the renewal fails once
    fake_model.enqueue(answer("Still here."))
    top = mention("<@UBOTT2> hello", channel="C2", team="T2")
    await slack.event(bot, top, team_id="T2")
    [message] = await answer_in(bot, fake_slack, "C2", top["ts"])

    assert message.visible == "Still here."
    assert [c.outcome for c in fake_slack.calls_to("oauth.v2.access")][-1] == "internal_error"
    calls = channel_calls(fake_slack, "C2")
    assert calls and all(c.ok and c.token == first for c in calls), fake_slack.summary()
