"""Function tools (BOT_FUNCTIONS): the model asks, the bot runs the team's functions, sends
their outputs on a chained request, and the answer streams on in the same message — in
both stream modes. Failures become text the model can recover from; rounds are bounded;
Stop works while functions run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.main import StartupError
from bot.store import Store
from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.e2e.presses import STOP, press
from tests.fakes import team_functions
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack
from tests.fakes.tool_streams import calls

MODES = pytest.mark.parametrize("mode", ["update", "native"])
TEAM = "tests.fakes.team_functions"


def functions(*names: str) -> str:
    return ",".join(f"{TEAM}:{name}" for name in names)


def outputs(request: dict[str, Any]) -> dict[str, str]:
    """call_id → output of a request's function_call_output items."""
    return {
        item["call_id"]: item["output"]
        for item in request["input"]
        if item.get("type") == "function_call_output"
    }


@pytest.fixture(autouse=True)
def _forget_calls() -> None:
    team_functions.CALLS.clear()


@MODES
async def test_a_function_round_trip_streams_on_in_the_same_message(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(
        BOT_STREAM_MODE=mode, BOT_FUNCTIONS=functions("lookup_ticket", "deploy_count")
    )
    fake_slack.set_user("U1", tz="America/Chicago")
    asking = calls(
        ("lookup_ticket", {"key": "OPS-123", "detail": None}),
        ("deploy_count", {"service": "api"}),
        text="Let me check the tracker.",
    )
    final = answer("OPS-123 is open and owned by <@U7>; api shipped 3 times today.")
    fake_model.enqueue(asking, final)
    top = mention("<@UBOT> what's up with OPS-123?")
    await slack.event(bot, top)
    [message] = await answer_in(bot, fake_slack, "C1", top["ts"])

    # One message holds the text of both rounds.
    assert "Let me check the tracker." in message.visible
    assert "OPS-123 is open and owned by <@U7>" in message.visible
    assert message.visible.index("Let me check") < message.visible.index("OPS-123 is open")
    assert len(fake_slack.thread_messages("C1", top["ts"])) == 1

    first, second = (r.json for r in await fake_model.wait_for_requests(2))
    tools = {t["name"]: t for t in first["tools"] if t["type"] == "function"}
    assert tools["lookup_ticket"]["strict"] is True
    assert tools["lookup_ticket"]["parameters"]["required"] == ["key", "detail"]
    assert "asker" not in tools["lookup_ticket"]["parameters"]["properties"]
    # The outputs go back chained on the response that asked, with nothing else.
    assert second["previous_response_id"] == asking.response_id
    assert second["tools"] == first["tools"] and second["instructions"] == first["instructions"]
    assert all(item["type"] == "function_call_output" for item in second["input"])
    sent = outputs(second)
    assert set(sent) == set(asking.call_ids)  # type: ignore[attr-defined]
    ticket = json.loads(sent[asking.call_ids[0]])  # type: ignore[attr-defined]
    assert ticket == {"key": "OPS-123", "status": "open", "owner": "<@U7>", "asked_by": "U1"}
    assert sent[asking.call_ids[1]] == "3"  # type: ignore[attr-defined]
    # The function was told who asks, with the time zone Slack knows for them.
    [(_, seen)] = [c for c in team_functions.CALLS if c[0] == "lookup_ticket"]
    assert seen["detail"] == "short"  # null from the model: the default
    asker = seen["asker"]
    assert (asker.user_id, asker.channel_id, asker.time_zone) == (  # type: ignore[attr-defined]
        "U1",
        "C1",
        "America/Chicago",
    )

    # The thread's chain moves to the last response.
    fake_model.enqueue(answer("Anything else?"))
    await slack.event(bot, mention("<@UBOT> thanks", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert fake_model.requests[2].json["previous_response_id"] == final.response_id


@MODES
async def test_a_failing_function_sends_its_error_and_the_answer_completes(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, BOT_FUNCTIONS=functions("explode", "deploy_count"))
    asking = calls(
        ("explode", {"reason": "maintenance"}),
        ("deploy_count", '{"service": "api"'),  # the model wrote broken JSON
        ("no_such_function", {}),
    )
    fake_model.enqueue(asking, answer("The tracker is down right now, sorry."))
    top = mention("<@UBOT> check the tracker")
    await slack.event(bot, top)
    [message] = await answer_in(bot, fake_slack, "C1", top["ts"])

    assert message.visible == "The tracker is down right now, sorry."
    raised, broken, unknown = (
        outputs(fake_model.requests[1].json)[i]
        for i in asking.call_ids  # type: ignore[attr-defined]
    )
    assert raised.startswith("Error: RuntimeError: the tracker is down (maintenance)")
    assert "123456789012" not in raised and "Traceback" not in raised
    assert broken == "Error: the arguments were not valid JSON. Please call the function again."
    assert unknown == "Error: there is no function named 'no_such_function'."
    assert team_functions.CALLS == []  # the broken call never ran
    # The turn's tokens are those of both responses (as `python -m bot usage` counts them).
    store = await Store.open(bot.settings.DATABASE_URL)
    try:
        totals = await store.usage_totals()
    finally:
        await store.close()
    assert totals["output_tokens"] == 12 + len("The tracker is down right now, sorry.") // 4


@MODES
async def test_a_function_that_takes_too_long_times_out_and_the_answer_goes_on(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(BOT_STREAM_MODE=mode, BOT_FUNCTIONS=functions("too_slow"))
    asking = calls(("too_slow", {}))
    fake_model.enqueue(asking, answer("That took too long; try again later."))
    top = mention("<@UBOT> slow thing please")
    await slack.event(bot, top)
    [message] = await answer_in(bot, fake_slack, "C1", top["ts"])

    assert message.visible == "That took too long; try again later."
    [output] = outputs(fake_model.requests[1].json).values()
    assert output == "Error: too_slow did not finish within 0.5 seconds."


@MODES
async def test_past_the_round_limit_the_answer_ends_with_a_notice(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(
        BOT_STREAM_MODE=mode, BOT_FUNCTIONS=functions("deploy_count"), BOT_MAX_TOOL_ROUNDS=2
    )
    rounds = [calls(("deploy_count", {"service": f"s{i}"}), text=f"Step {i}.") for i in range(3)]
    fake_model.enqueue(*rounds, answer("never asked for"))
    top = mention("<@UBOT> count everything")
    await slack.event(bot, top)
    [message] = await answer_in(bot, fake_slack, "C1", top["ts"])

    assert len(fake_model.requests) == 3  # the first response and two rounds of outputs
    assert [c[1]["service"] for c in team_functions.CALLS] == ["s0", "s1"]
    assert "Step 0." in message.visible and "Step 2." in message.visible
    assert message.visible.endswith(
        "_I stopped here: the answer needed more than 2 rounds of tool calls. "
        "Please ask again more narrowly._"
    )
    # Its last response has calls with no outputs: the chain stays where it was.
    fake_model.enqueue(answer("Fresh start."))
    await slack.event(bot, mention("<@UBOT> again", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert "previous_response_id" not in fake_model.requests[3].json


@MODES
async def test_stop_while_a_function_runs_ends_the_answer_and_sends_nothing_more(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(
        BOT_STREAM_MODE=mode, BOT_FUNCTIONS=functions("wait_for_ci"), BOT_UPDATE_INTERVAL=0.1
    )
    fake_model.enqueue(calls(("wait_for_ci", {}), text="Waiting for CI."), answer("never"))
    top = mention("<@UBOT> is CI green?")
    await slack.event(bot, top)
    await fake_slack.wait_for(
        lambda: (
            team_functions.RUNNING.is_set()
            and "Waiting for CI." in fake_slack.thread_text("C1", top["ts"])
        ),
        what="the function running, its round's text shown",
    )
    [message] = fake_slack.thread_messages("C1", top["ts"])
    await press(bot, slack, message, STOP, user="U1")
    [final] = await answer_in(bot, fake_slack, "C1", top["ts"])

    assert final.visible.startswith("Waiting for CI.")
    assert final.visible.endswith("_Stopped by <@U1>._")
    assert not team_functions.RUNNING.is_set()  # the call was cancelled
    assert len(fake_model.requests) == 1  # no outputs were sent
    # The stopped response has a call without an output: the chain stays where it was.
    fake_model.enqueue(answer("Hello again."))
    await slack.event(bot, mention("<@UBOT> hi", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert "previous_response_id" not in fake_model.requests[1].json


@MODES
async def test_stop_in_a_later_round_stops_that_round(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel, mode: str
) -> None:
    bot = await start_bot(
        BOT_STREAM_MODE=mode, BOT_FUNCTIONS=functions("deploy_count"), BOT_UPDATE_INTERVAL=0.1
    )
    words = [f"w{i} " for i in range(40)]
    slow = answer("".join(words), chunks=words, delay=0.3)
    fake_model.enqueue(calls(("deploy_count", {"service": "api"}), text="Counting."), slow)
    top = mention("<@UBOT> count")
    await slack.event(bot, top)
    await fake_slack.wait_for(
        lambda: "w1" in fake_slack.thread_text("C1", top["ts"]), what="the second round's text"
    )
    [message] = fake_slack.thread_messages("C1", top["ts"])
    await press(bot, slack, message, STOP, user="U1")
    [final] = await answer_in(bot, fake_slack, "C1", top["ts"])

    assert final.visible.startswith("Counting.") and "w1" in final.visible
    assert "w39" not in final.visible and final.visible.endswith("_Stopped by <@U1>._")
    assert fake_model.cancelled == [slow.response_id]


async def test_a_restart_while_a_function_runs_never_runs_it_twice_and_the_answer_goes_on(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    settings = {"BOT_FUNCTIONS": functions("wait_for_ci"), "BOT_SHUTDOWN_GRACE": 0}
    first_bot = await start_bot(**settings)
    asking = calls(("wait_for_ci", {}), text="Checking CI.")
    fake_model.enqueue(asking)
    top = mention("<@UBOT> is CI green?")
    await slack.event(first_bot, top)
    await fake_slack.wait_for(lambda: team_functions.RUNNING.is_set(), what="the function")
    await first_bot.stop()  # a deploy while the function runs

    fake_model.enqueue(answer("I couldn't tell whether CI finished; please check it."))
    second_bot = await start_bot(**settings)
    await fake_model.wait_for_requests(2)
    await fake_slack.wait_for(
        lambda: "couldn't tell" in fake_slack.thread_text("C1", top["ts"]), what="the answer"
    )
    await second_bot.idle()

    assert [c[0] for c in team_functions.CALLS] == ["wait_for_ci"]  # once, never again
    followup = fake_model.requests[1].json
    assert followup["previous_response_id"] == asking.response_id
    [output] = outputs(followup).values()
    assert output.startswith("Error: the bot was restarted while this function ran")
    [message] = fake_slack.thread_messages("C1", top["ts"])  # the same message, finished
    assert message.visible.startswith("Checking CI.")
    assert message.visible.endswith("I couldn't tell whether CI finished; please check it.")


async def test_a_restart_in_a_later_round_resumes_that_round_in_the_same_message(
    start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    settings = {"BOT_FUNCTIONS": functions("deploy_count"), "BOT_SHUTDOWN_GRACE": 0}
    first_bot = await start_bot(**settings, BOT_UPDATE_INTERVAL=0.1)
    words = [f"w{i} " for i in range(20)]
    second_round = answer("".join(words), chunks=words, delay=0.15)
    fake_model.enqueue(calls(("deploy_count", {"service": "api"}), text="Counting."), second_round)
    top = mention("<@UBOT> count")
    await slack.event(first_bot, top)
    await fake_slack.wait_for(
        lambda: "w3" in fake_slack.thread_text("C1", top["ts"]), what="the second round's text"
    )
    await first_bot.stop()  # a deploy in the middle of the second round

    second_bot = await start_bot(**settings)
    await fake_slack.wait_for(
        lambda: "w19" in fake_slack.thread_text("C1", top["ts"]), what="the rest", timeout=20
    )
    await second_bot.idle()

    assert [c[0] for c in team_functions.CALLS] == ["deploy_count"]
    assert len(fake_model.requests) == 2  # resumed, not asked again
    assert fake_model.resumed and fake_model.resumed[-1][0] == second_round.response_id
    [message] = fake_slack.thread_messages("C1", top["ts"])
    assert message.visible == "Counting.\n\n" + "".join(words).strip()


async def test_a_function_that_cannot_be_imported_stops_the_start(start_bot: StartBot) -> None:
    with pytest.raises(StartupError, match=r"^BOT_FUNCTIONS: cannot import 'tests\.fakes\.nope:f'"):
        await start_bot(BOT_FUNCTIONS="tests.fakes.nope:f")


async def test_a_function_whose_signature_cannot_be_a_schema_stops_the_start(
    start_bot: StartBot,
) -> None:
    expected = r"^BOT_FUNCTIONS: 'json:dumps': dumps\(obj\): needs a type annotation\.$"
    with pytest.raises(StartupError, match=expected):
        await start_bot(BOT_FUNCTIONS="json:dumps")
