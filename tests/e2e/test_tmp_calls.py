from tests.e2e.conftest import StartBot
from tests.e2e.conversation import answer_in
from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack


async def test_calls(start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel) -> None:
    bot = await start_bot(BOT_UPDATE_INTERVAL=1.0)
    words = [f"w{i} " for i in range(20)]
    fake_model.enqueue(answer("".join(words), chunks=["".join(words[i*4:(i+1)*4]) for i in range(5)], delay=0.05))
    event = mention("<@UBOT> is the build green?")
    await slack.event(bot, event)
    await answer_in(bot, fake_slack, "C1", event["ts"])
    await bot.idle()
    print(fake_slack.summary())
