"""What the model is told a thread holds (issue 8, cases 5 to 9): what was heard between
two mentions, in order and within bounds; replies while a first answer streams; the
bot's own answers in full when a chain is rebuilt or a thread joined; the recent end of
a long thread under Slack's limits; and what authors edited or deleted.

Each test drives the bot through signed Slack payloads and asserts what the model was
sent (FakeModel), what Slack was asked (FakeSlack) and what the database keeps.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.slack import blocks
from bot.store.tables import heard_messages
from tests.e2e.conversation import answer_in
from tests.e2e.harness import BotHandle, SlackSender
from tests.e2e.payloads import (
    channel_message,
    mention,
    message_changed,
    message_deleted,
    new_ts,
)
from tests.e2e.test_ai_surfaces import first_turn, heard_count, said, slow, store_of, until
from tests.fakes.responses_api import FakeModel, answer, http_error
from tests.fakes.slack_api import REPLIES_OUTSIDE_MARKETPLACE, FakeSlack

CHAIN_LOST = ("previous_response_not_found", "Previous response with id not found.")


async def heard_texts(bot: BotHandle) -> list[str]:
    """The texts heard and not yet sent to the model, in the order they were written."""
    rows = await store_of(bot).run(
        lambda conn: conn.execute(select(heard_messages.c.message_ts, heard_messages.c.text)).all()
    )
    return [str(text) for _, text in sorted(rows, key=lambda row: float(row[0]))]


# -- case 5: more heard than the bound --------------------------------------------------------


async def test_more_heard_than_the_bound_sends_the_recent_in_order_and_never_replays_the_rest(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    for i in range(35):
        event = channel_message(f"note {i:02d}", user="U2", thread_ts=top["ts"])
        assert (await slack.event(bot, event)).status == 200

    async def all_heard() -> bool:
        return await heard_count(bot) == 35

    await until(all_heard, "the 35 messages to be heard")
    second = answer("Read them.")
    fake_model.enqueue(second, answer("Nothing more."))
    await slack.event(bot, mention("<@UBOT> sum up", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    request = fake_model.requests[1].json
    assert request["previous_response_id"] == first.response_id
    assert said(request) == [
        ("user", "(5 earlier messages in this thread are left out.)"),
        *[("user", f"<@U2>: note {i:02d}") for i in range(5, 35)],  # the recent 30, in order
        ("user", "<@U1>: sum up"),
    ]
    assert await heard_count(bot) == 0  # the five left out went with the turn that sent the rest

    await slack.event(bot, mention("<@UBOT> anything else?", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=3)
    request = fake_model.requests[2].json
    assert request["previous_response_id"] == second.response_id
    assert said(request) == [("user", "<@U1>: anything else?")]  # nothing replayed


# -- case 6: replies while the first answer streams -------------------------------------------


async def test_replies_while_a_threads_first_answer_streams_reach_the_next_turn(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    text = "One two three four five six seven eight nine ten eleven twelve."
    first = slow(text, 0.1)
    fake_model.enqueue(first)
    top = mention("<@UBOT> count to twelve")
    await slack.event(bot, top)
    await fake_slack.wait_for(lambda: "two" in fake_slack.thread_text("C1", top["ts"]))
    reply = channel_message("Meanwhile: the deploy is green.", user="U2", thread_ts=top["ts"])
    await slack.event(bot, reply)

    async def heard_one() -> bool:
        return await heard_count(bot) == 1

    await until(heard_one, "the reply written during the first answer to be heard")
    [shown] = await answer_in(bot, fake_slack, "C1", top["ts"])
    assert shown.visible == text
    assert await heard_count(bot) == 1  # the first turn did not send it: it came after

    fake_model.enqueue(answer("Good."))
    await slack.event(bot, mention("<@UBOT> and now?", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    request = fake_model.requests[1].json
    assert request["previous_response_id"] == first.response_id
    assert said(request) == [
        ("user", "<@U2>: Meanwhile: the deploy is green."),
        ("user", "<@U1>: and now?"),
    ]
    assert await heard_count(bot) == 0


async def test_replies_after_the_mention_that_joins_a_thread_reach_the_next_turn(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    root = new_ts()
    ask = mention("<@UBOT> what do you think?", user="U3", thread_ts=root)
    fake_slack.set_replies(
        "C1",
        root,
        [
            {"type": "message", "user": "U2", "text": "Ship on Friday?", "ts": root},
            {"type": "message", "user": "U3", "text": ask["text"], "ts": ask["ts"],
             "thread_ts": root},
        ],
    )  # fmt: skip
    first = slow("Friday works if QA agrees with it.", 0.1)
    fake_model.enqueue(first)
    await slack.event(bot, ask)
    await fake_slack.wait_for(lambda: "works" in fake_slack.thread_text("C1", root))
    await slack.event(bot, channel_message("QA agrees.", user="U4", thread_ts=root))

    async def heard_one() -> bool:
        return await heard_count(bot) == 1

    await until(heard_one, "the reply after the joining mention to be heard")
    await answer_in(bot, fake_slack, "C1", root)
    assert said(fake_model.requests[0].json) == [
        ("user", "<@U2>: Ship on Friday?"),
        ("user", "<@U3>: what do you think?"),
    ]

    fake_model.enqueue(answer("Then Friday."))
    await slack.event(bot, mention("<@UBOT> so?", user="U2", thread_ts=root))
    await answer_in(bot, fake_slack, "C1", root, count=2)
    request = fake_model.requests[1].json
    assert request["previous_response_id"] == first.response_id
    assert said(request) == [("user", "<@U4>: QA agrees."), ("user", "<@U2>: so?")]


# -- case 7: the bot's own answers in full ------------------------------------------------------

LONG = " ".join(f"Point {i}: the plan holds, the numbers add up." for i in range(12))


async def test_a_rebuilt_chain_carries_the_bots_answers_in_full_from_their_blocks(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, _ = await first_turn(bot, slack, fake_slack, fake_model, LONG)
    [shown] = fake_slack.thread_messages("C1", top["ts"])
    assert len(shown.text) <= blocks.PREVIEW < len(LONG)  # Slack's `text` is a preview
    fake_slack.set_replies(
        "C1",
        top["ts"],
        [
            {"type": "message", "user": "U1", "text": top["text"], "ts": top["ts"]},
            # As Slack gives it back: the preview in `text`, the answer in its blocks.
            {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": shown.text,
             "blocks": shown.blocks, "ts": new_ts(), "thread_ts": top["ts"]},
        ],
    )  # fmt: skip
    fake_model.enqueue(http_error(400, *CHAIN_LOST), answer("Rebuilt."))
    await slack.event(bot, mention("<@UBOT> and then?", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    rebuilt = fake_model.requests[2].json
    assert "previous_response_id" not in rebuilt
    assert said(rebuilt) == [
        ("user", "<@U1>: start a thread"),
        ("assistant", LONG),
        ("user", "<@U1>: and then?"),
    ]


async def test_where_slacks_copy_is_a_preview_the_answer_comes_from_the_bots_turns(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, _ = await first_turn(bot, slack, fake_slack, fake_model, LONG)
    [shown] = fake_slack.thread_messages("C1", top["ts"])
    answered, reply = new_ts(), new_ts()
    ask = mention("<@UBOT> and then?", thread_ts=top["ts"])
    fake_slack.set_replies(
        "C1",
        top["ts"],
        [
            {"type": "message", "user": "U1", "text": top["text"], "ts": top["ts"]},
            # As Slack may give it back: the preview, without the blocks.
            {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": shown.text,
             "ts": answered, "thread_ts": top["ts"]},
            {"type": "message", "user": "U2", "text": "Agreed.", "ts": reply,
             "thread_ts": top["ts"]},
        ],
    )  # fmt: skip
    fake_model.enqueue(http_error(400, *CHAIN_LOST), answer("Rebuilt."))
    await slack.event(bot, ask)
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    assert said(fake_model.requests[2].json) == [
        ("user", "<@U1>: start a thread"),
        ("assistant", LONG),
        ("user", "<@U2>: Agreed."),
        ("user", "<@U1>: and then?"),
    ]


# -- case 8: the recent end under Slack's limits ----------------------------------------------


async def test_joining_under_slacks_limits_reads_the_most_recent_messages(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    fake_slack.replies_page_size = 15
    fake_slack.tiers["conversations.replies"] = REPLIES_OUTSIDE_MARKETPLACE  # one a minute
    root = new_ts()
    said_before = [
        {"type": "message", "user": "U2", "text": f"message {i:02d}", "ts": root if i == 0
         else new_ts()}
        for i in range(50)
    ]  # fmt: skip
    fake_slack.set_replies("C1", root, said_before)
    ask = mention("<@UBOT> what was decided?", thread_ts=root)
    await slack.event(bot, ask)
    await answer_in(bot, fake_slack, "C1", root)
    assert said(fake_model.requests[0].json) == [
        *[("user", f"<@U2>: message {i:02d}") for i in range(35, 50)],  # the recent 15
        ("user", "<@U1>: what was decided?"),
    ]
    read = [c for c in fake_slack.calls_to("conversations.replies") if c.ok]
    assert len(read) == 1  # Slack allows one call a minute
    assert read[0].args["latest"] == ask["ts"]


# -- case 9: edited and deleted after they were heard ---------------------------------------


async def test_what_authors_delete_or_edit_before_the_next_turn_is_sent_as_it_stands(
    bot: BotHandle, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel
) -> None:
    top, first = await first_turn(bot, slack, fake_slack, fake_model)
    secret = channel_message("the prod password is hunter2", user="U2", thread_ts=top["ts"])
    plan = channel_message("Deploy at 5.", user="U3", thread_ts=top["ts"])
    for event in (secret, plan):
        await slack.event(bot, event)

    async def both_heard() -> bool:
        return await heard_count(bot) == 2

    await until(both_heard, "both messages to be heard")
    await slack.event(
        bot, message_deleted(ts=secret["ts"], previous_text=secret["text"], user="U2",
                             thread_ts=top["ts"]),
    )  # fmt: skip
    await slack.event(
        bot,
        message_changed("Deploy at 6.", ts=plan["ts"], previous_text=plan["text"], user="U3",
                        channel="C1", channel_type="channel", thread_ts=top["ts"]),
    )  # fmt: skip

    async def applied() -> bool:
        return await heard_texts(bot) == ["Deploy at 6."]

    await until(applied, "the deletion and the edit to reach what was heard")
    fake_model.enqueue(answer("Six it is."))
    await slack.event(bot, mention("<@UBOT> when do we deploy?", thread_ts=top["ts"]))
    await answer_in(bot, fake_slack, "C1", top["ts"], count=2)
    request = fake_model.requests[1].json
    assert request["previous_response_id"] == first.response_id
    assert said(request) == [
        ("user", "<@U3>: Deploy at 6."),
        ("user", "<@U1>: when do we deploy?"),
    ]
    assert all("hunter2" not in json.dumps(r.json) for r in fake_model.requests)
