"""Self-tests of the fakes, driven by the clients the bot uses."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import httpx
import pytest
from httpx_sse import aconnect_sse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import responses_api as rs
from tests.fakes.responses_api import FakeModel
from tests.fakes.slack_api import FakeSlack, Tier

TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


# -- FakeSlack -------------------------------------------------------------------


async def test_post_then_update_shows_the_new_text(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", thread_ts="1.000001", text="Thinking…")
    assert posted["ok"] and posted["channel"] == "C1"
    ts = posted["ts"]
    await client.chat_update(channel="C1", ts=ts, text="The answer.")

    assert fake_slack.visible_text("C1", ts) == "The answer."
    message = fake_slack.message("C1", ts)
    assert message.history == ["Thinking…", "The answer."]
    assert message.edits == 1
    assert fake_slack.thread_messages("C1", "1.000001") == [message]
    call = fake_slack.calls_to("chat.update")[0]
    assert call.args["text"] == "The answer." and call.ok
    assert call.headers["Authorization"] == "Bearer xoxb-test-token"


async def test_ts_are_unique_and_increasing(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel="C1", text="a")
    second = await client.chat_postMessage(channel="C1", text="b")
    assert float(second["ts"]) > float(first["ts"])
    assert [m.visible for m in fake_slack.bot_messages("C1")] == ["a", "b"]


async def test_blocks_are_what_a_person_sees(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [{"type": "markdown", "text": "**long** answer"}]
    posted = await client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)
    assert fake_slack.visible_text("C1", posted["ts"]) == "**long** answer"
    await client.chat_update(channel="C1", ts=posted["ts"], text="new", blocks=[])
    assert fake_slack.visible_text("C1", posted["ts"]) == "new"


async def test_rate_limit_gives_429_with_retry_after(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="first")
    fake_slack.rate_limit("chat.update", retry_after=3)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_update(channel="C1", ts=posted["ts"], text="second")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "3"
    assert caught.value.response["error"] == "ratelimited"
    assert fake_slack.visible_text("C1", posted["ts"]) == "first"

    await client.chat_update(channel="C1", ts=posted["ts"], text="second")
    assert [c.outcome for c in fake_slack.calls_to("chat.update")] == ["ratelimited", "ok"]
    assert fake_slack.visible_text("C1", posted["ts"]) == "second"


async def test_tiers_are_enforced_per_workspace_and_method_only_when_asked(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="first")
    for n in range(5):
        await client.chat_update(channel="C1", ts=posted["ts"], text=f"edit {n}")
    assert fake_slack.rate_limited() == []  # off by default

    fake_slack.enforce_tiers({"chat.update": Tier(3, 60)})
    for n in range(3):
        await client.chat_update(channel="C1", ts=posted["ts"], text=f"again {n}")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_update(channel="C1", ts=posted["ts"], text="one too many")
    assert caught.value.response.status_code == 429
    assert 1 <= int(caught.value.response.headers["Retry-After"]) <= 60
    assert fake_slack.visible_text("C1", posted["ts"]) == "again 2"
    assert [c.method for c in fake_slack.rate_limited()] == ["chat.update"]
    await client.chat_postMessage(channel="C1", text="another method: its own tier")


async def test_a_per_channel_tier_counts_each_channel_apart(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.enforce_tiers({"chat.postMessage": Tier(1, 10, per_channel=True)})
    await client.chat_postMessage(channel="C1", text="one")
    await client.chat_postMessage(channel="C2", text="one")
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C1", text="two")
    assert len(fake_slack.rate_limited("chat.postMessage")) == 1


async def test_fail_answers_ok_false_and_changes_nothing(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.fail("chat.postMessage", "msg_too_long", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError, match="msg_too_long"):
            await client.chat_postMessage(channel="C1", text="x" * 5000)
    assert fake_slack.messages == {}
    assert await client.chat_postMessage(channel="C1", text="short")
    assert [c.outcome for c in fake_slack.calls] == ["msg_too_long", "msg_too_long", "ok"]


async def test_inject_any_response(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    fake_slack.inject("auth.test", status=500, body={"ok": False, "error": "fatal_error"})
    with pytest.raises(SlackApiError):
        await client.auth_test()
    assert (await client.auth_test())["user_id"] == "UBOT"


async def test_native_stream(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    started = await client.chat_startStream(
        channel="C1", thread_ts="1.000001", recipient_user_id="U1", recipient_team_id="T1"
    )
    ts = started["ts"]
    await client.chat_appendStream(channel="C1", ts=ts, markdown_text="Hello")
    await client.chat_appendStream(channel="C1", ts=ts, markdown_text=", world")
    await client.chat_stopStream(channel="C1", ts=ts, markdown_text="!")
    message = fake_slack.message("C1", ts)
    assert message.visible == "Hello, world!" and message.stopped
    assert fake_slack.thread_messages("C1", "1.000001") == [message]
    with pytest.raises(SlackApiError, match="message_not_in_streaming_state"):
        await client.chat_appendStream(channel="C1", ts=ts, markdown_text="more")


async def test_form_get_and_scripted_replies(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    fake_slack.set_replies("C1", "1.000001", [{"user": "U1", "text": "hi", "ts": "1.000001"}])
    replies = await client.conversations_replies(channel="C1", ts="1.000001")
    assert replies["messages"][0]["text"] == "hi" and replies["has_more"] is False
    assert (await client.conversations_replies(channel="C1", ts="9.0"))["messages"] == []
    user = await client.users_info(user="U7")
    assert user["user"]["id"] == "U7"
    await client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.1", status="typing")
    await client.api_call("chat.postEphemeral", data={"channel": "C1", "user": "U1", "text": "x"})
    await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "form", "blocks": "[]"}
    )
    assert fake_slack.ephemerals[0]["text"] == "x"
    assert fake_slack.calls_to("chat.postMessage")[0].args["blocks"] == []
    assert [c.method for c in fake_slack.calls][:3] == [
        "conversations.replies",
        "conversations.replies",
        "users.info",
    ]


async def test_lose_answer_carries_the_call_out_and_drops_or_delays_its_answer(
    fake_slack: FakeSlack,
) -> None:
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.url, retry_handlers=[])
    fake_slack.lose_answer("chat.postMessage")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.chat_postMessage(channel="C1", thread_ts="1.000001", text="one")
    late = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.url, timeout=1)
    fake_slack.lose_answer("chat.postMessage", late=3.0)
    with pytest.raises(TimeoutError):
        await late.chat_postMessage(channel="C1", thread_ts="1.000001", text="two")
    assert [m.visible for m in fake_slack.thread_messages("C1", "1.000001")] == ["one", "two"]
    outcomes = [c.outcome for c in fake_slack.calls_to("chat.postMessage")]
    assert outcomes == ["dropped after ok", "late after ok"]


async def test_refuse_markdown_from_the_kth_call(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.refuse_markdown("chat.postMessage", from_call=2)
    markdown = [{"type": "markdown", "text": "**hi**"}]
    await client.chat_postMessage(channel="C1", text="hi", blocks=markdown)
    await client.chat_postMessage(channel="C1", text="plain, so not counted")
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C1", text="hi", blocks=markdown)
    assert refused.value.response["error"] == "invalid_blocks"
    assert len(fake_slack.bot_messages("C1")) == 2


async def test_replies_and_history_show_the_bots_messages_with_metadata(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    marker = {"event_type": "answer_part", "event_payload": {"answer": "k", "part": 1}}
    top = await client.chat_postMessage(channel="C1", text="top", metadata=marker)
    reply = await client.chat_postMessage(
        channel="C1", thread_ts=top["ts"], text="reply", metadata=marker
    )
    replies = await client.conversations_replies(
        channel="C1", ts=top["ts"], oldest=top["ts"], include_all_metadata=True
    )
    assert [(m["ts"], m["metadata"]) for m in replies["messages"]] == [(reply["ts"], marker)]
    history = await client.conversations_history(channel="C1")
    assert [m["text"] for m in history["messages"]] == ["top"]
    assert "metadata" not in history["messages"][0]  # only with include_all_metadata


async def test_unknown_message_and_missing_token(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.url)
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.chat_update(channel="C1", ts="1.1", text="x")
    anonymous = AsyncWebClient(base_url=fake_slack.url)
    with pytest.raises(SlackApiError, match="not_authed"):
        await anonymous.auth_test()


async def test_wait_for_wakes_on_calls_and_explains_timeouts(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C1", text="done")

    task = asyncio.create_task(later())
    await fake_slack.wait_for(lambda: bool(fake_slack.calls_to("chat.postMessage")), timeout=5)
    await task
    with pytest.raises(AssertionError, match=r"chat\.postMessage \[ok\]"):
        await fake_slack.wait_for(lambda: False, timeout=0.1)


async def test_response_url_records_posts(fake_slack: FakeSlack) -> None:
    async with httpx.AsyncClient() as http:
        reply = await http.post(fake_slack.response_url("abc"), json={"text": "answer"})
    assert reply.status_code == 200
    assert fake_slack.response_url_posts == [{"text": "answer"}]
    assert fake_slack.response_url_posts_to("abc") == [{"text": "answer"}]


# -- FakeModel -------------------------------------------------------------------


async def _stream(
    fake: FakeModel, body: dict[str, Any] | None = None, **client_args: Any
) -> tuple[list[tuple[str, dict[str, Any]]], Exception | None]:
    """POST /responses; returns (event name, data) pairs and the error that ended it, if any."""
    events: list[tuple[str, dict[str, Any]]] = []
    body = body or {"model": "gpt-4.1", "input": "hi", "stream": True, "store": True}
    headers = {"Authorization": "Bearer sk-test-key"}
    async with httpx.AsyncClient(**client_args) as http:
        try:
            async with aconnect_sse(
                http, "POST", f"{fake.url}/responses", json=body, headers=headers
            ) as source:
                source.response.raise_for_status()
                async for sse in source.aiter_sse():
                    events.append((sse.event, json.loads(sse.data)))
        except (httpx.TransportError, httpx.HTTPStatusError) as error:
            return events, error
    return events, None


def _text(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(d["delta"] for _, d in events if d["type"] == "response.output_text.delta")


@pytest.mark.parametrize("framing", ["event", "data"])
async def test_answer_parses_in_both_framings(fake_model: FakeModel, framing: str) -> None:
    script = rs.answer("Hello there, world.", framing=framing)  # type: ignore[arg-type]
    fake_model.enqueue(script)
    events, error = await _stream(fake_model)
    assert error is None
    numbers = [data["sequence_number"] for _, data in events]
    assert numbers == list(range(len(events)))
    assert all("type" in data for _, data in events)
    assert _text(events) == "Hello there, world."
    names = [data["type"] for _, data in events]
    assert names[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    last = events[-1][1]
    assert last["type"] == "response.completed"
    assert last["response"]["id"] == script.response_id
    assert last["response"]["output"][0]["content"][0]["text"] == "Hello there, world."
    usage = last["response"]["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    deltas = [d for _, d in events if d["type"] == "response.output_text.delta"]
    assert all("obfuscation" in d for d in deltas)
    if framing == "event":
        assert [name for name, _ in events] == names
    else:  # no event: lines, so the SSE event name is the default
        assert {name for name, _ in events} == {"message"}
        assert all("content_filters" in data for _, data in events)


async def test_chunks_delay_and_incomplete(fake_model: FakeModel) -> None:
    fake_model.enqueue(
        rs.answer("abcdef", chunks=["ab", "cd", "ef"], delay=0.01, incomplete_reason="max_tokens")
    )
    events, _ = await _stream(fake_model)
    deltas = [d["delta"] for _, d in events if d["type"] == "response.output_text.delta"]
    assert deltas == ["ab", "cd", "ef"]
    last = events[-1][1]
    assert last["type"] == "response.incomplete"
    assert last["response"]["status"] == "incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_tokens"}


async def test_cut_after_ends_without_a_terminal_event(fake_model: FakeModel) -> None:
    fake_model.enqueue(rs.cut_after("Partial answer"))
    events, error = await _stream(fake_model)
    assert isinstance(error, httpx.RemoteProtocolError)
    assert _text(events) == "Partial answer"
    assert not TERMINAL & {d["type"] for _, d in events}


async def test_stall_after_sends_nothing_more(fake_model: FakeModel) -> None:
    fake_model.enqueue(rs.stall_after("Slow", 5))
    events, error = await _stream(fake_model, timeout=httpx.Timeout(5, read=0.3))
    assert isinstance(error, httpx.ReadTimeout)
    assert _text(events) == "Slow"


async def test_error_after_and_failed_after(fake_model: FakeModel) -> None:
    fake_model.enqueue(rs.error_after("So far", "server_error", "boom"), rs.failed_after("x"))
    events, _ = await _stream(fake_model)
    assert _text(events) == "So far"
    assert events[-2][1]["type"] == "error"
    assert events[-2][1]["error"]["code"] == "server_error"
    assert events[-2][1]["error"]["message"] == "boom"
    assert events[-1][1]["type"] == "response.failed"
    assert events[-1][1]["response"]["error"] == {"code": "server_error", "message": "boom"}
    events, _ = await _stream(fake_model)
    assert events[-1][1]["response"]["status"] == "failed"


async def test_refusal_streams_refusal_events_and_a_refusal_part(fake_model: FakeModel) -> None:
    fake_model.enqueue(
        rs.refusal("I can't help with that.", chunks=["I can't", " help with that."])
    )
    events, error = await _stream(fake_model)
    assert error is None
    kinds = [d["type"] for _, d in events]
    assert kinds.count("response.refusal.delta") == 2
    assert "response.output_text.delta" not in kinds
    done = next(d for _, d in events if d["type"] == "response.refusal.done")
    assert done["refusal"] == "I can't help with that."
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    final = events[-1][1]["response"]
    assert final["status"] == "completed"
    assert final["output"][0]["content"] == [
        {"type": "refusal", "refusal": "I can't help with that."}
    ]


async def test_http_error_with_retry_after(fake_model: FakeModel) -> None:
    fake_model.enqueue(rs.http_error(429, "rate_limit_exceeded", "Slow down", retry_after=2))
    async with httpx.AsyncClient() as http:
        reply = await http.post(
            f"{fake_model.url}/responses",
            json={"input": "hi", "stream": True},
            headers={"Authorization": "Bearer k"},
        )
    assert reply.status_code == 429
    assert reply.headers["retry-after"] == "2"
    assert reply.json()["error"] == {
        "message": "Slow down",
        "type": "rate_limit_exceeded",
        "param": None,
        "code": "rate_limit_exceeded",
    }


@pytest.mark.parametrize("framing", ["event", "data"])
async def test_replay_fixture(fake_model: FakeModel, framing: str) -> None:
    fake_model.enqueue(rs.replay("text_answer.sse", framing=framing))  # type: ignore[arg-type]
    events, error = await _stream(fake_model)
    assert error is None
    assert _text(events) == "Sure — the deploy finished at 14:02 UTC."
    assert events[-1][1]["type"] == "response.completed"


async def test_requests_are_recorded_and_scripts_fifo(fake_model: FakeModel) -> None:
    first, second = rs.answer("one"), rs.answer("two")
    fake_model.enqueue(first, second)
    await _stream(fake_model)
    body = {"input": "again", "stream": True, "previous_response_id": first.response_id}
    events, _ = await _stream(fake_model, body)
    assert _text(events) == "two"
    events, _ = await _stream(fake_model)
    assert _text(events) == "Hello!"  # the default once the queue is empty
    await fake_model.wait_for_requests(3, timeout=1)
    assert fake_model.requests[1].json["previous_response_id"] == first.response_id
    assert fake_model.requests[1].response_id == second.response_id
    assert fake_model.requests[0].headers["Authorization"] == "Bearer sk-test-key"
    with pytest.raises(AssertionError, match="expected 4 request"):
        await fake_model.wait_for_requests(4, timeout=0.05)


async def test_missing_key_is_401(fake_model: FakeModel) -> None:
    async with httpx.AsyncClient() as http:
        reply = await http.post(f"{fake_model.url}/responses", json={"input": "hi"})
    assert reply.status_code == 401
    assert fake_model.pending == 0


async def test_retrieve_reports_each_responses_status(fake_model: FakeModel) -> None:
    done, cut, scripted = rs.answer("done"), rs.cut_after("half"), rs.answer("x")
    fake_model.enqueue(done, cut, scripted)
    for _ in range(3):
        await _stream(fake_model)
    fake_model.set_status(scripted.response_id or "", "incomplete")
    headers = {"Authorization": "Bearer sk-test-key"}
    async with httpx.AsyncClient(base_url=fake_model.url, headers=headers) as http:
        statuses = [
            (await http.get(f"/responses/{script.response_id}")).json()["status"]
            for script in (done, cut, scripted)
        ]
        unknown = await http.get("/responses/resp_unknown")
        unauthorised = await http.get(
            f"/responses/{done.response_id}", headers={"Authorization": ""}
        )
    assert statuses == ["completed", "in_progress", "incomplete"]
    assert unknown.status_code == 404 and "error" in unknown.json()
    assert unauthorised.status_code == 401
    assert fake_model.status_requests == [
        done.response_id,
        cut.response_id,
        scripted.response_id,
        "resp_unknown",
        done.response_id,
    ]
    assert fake_model.other_requests == []


async def test_a_stream_the_client_closed_early_is_reported_in_progress(
    fake_model: FakeModel,
) -> None:
    slow = rs.answer("one two three four", delay=0.5)
    fake_model.enqueue(slow)
    headers = {"Authorization": "Bearer sk-test-key"}
    body = {"model": "gpt-4.1", "input": "hi", "stream": True}
    async with httpx.AsyncClient(base_url=fake_model.url, headers=headers) as http:
        async with aconnect_sse(http, "POST", "/responses", json=body) as source:
            async for sse in source.aiter_sse():
                if sse.event == "response.output_text.delta":
                    break  # the client goes away after the first words
        status = (await http.get(f"/responses/{slow.response_id}")).json()["status"]
    assert status == "in_progress"
