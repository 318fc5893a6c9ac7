import asyncio, collections, gc, tracemalloc

from tests.e2e.conftest import StartBot
from tests.e2e.harness import SlackSender
from tests.e2e.payloads import mention
from tests.fakes.responses_api import FakeModel, answer
from tests.fakes.slack_api import FakeSlack

N = 60


def owner(tb):
    for fr in reversed(tb):  # innermost first? tracemalloc: most recent first when nframes ordering
        pass
    for fr in tb:
        f = fr.filename
        if "/work/main/tests/" in f:
            return "fake", fr
        if "/work/main/bot/" in f:
            return "bot", fr
    f = tb[0].filename
    if "web_protocol" in f or "web_" in f.rsplit("/", 1)[-1] or "http_parser" in f and False:
        return "fake?", tb[0]
    return "lib", tb[0]


async def test_mem(start_bot: StartBot, slack: SlackSender, fake_slack: FakeSlack, fake_model: FakeModel) -> None:
    bot = await start_bot(BOT_UPDATE_INTERVAL=2.0)
    words = [f"w{i} " for i in range(10)]
    # warm up
    fake_model.enqueue(answer("".join(words), chunks=words, delay=0.01))
    e = mention("<@UBOT> warm", ts="1690000000.000900")
    await slack.event(bot, e)
    await bot.idle()
    for i in range(N):
        fake_model.enqueue(answer("".join(words), chunks=words, delay=1.0))
    gc.collect()
    tracemalloc.start(30)
    before = tracemalloc.take_snapshot()
    for i in range(N):
        await slack.event(bot, mention(f"<@UBOT> q{i}", ts=f"1690000001.{i:06d}", channel=f"C{i}"))
    while len([c for c in fake_slack.calls if c.method == "chat.postMessage"]) < N:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    gc.collect()
    after = tracemalloc.take_snapshot()
    stats = after.compare_to(before, "traceback")
    groups = collections.Counter(); lines = collections.Counter()
    for s in stats:
        if s.size_diff <= 0: continue
        who, fr = owner(list(s.traceback))
        groups[who] += s.size_diff
        if who in ("bot", "lib"):
            lines[(who, fr.filename.replace('/root/.pyenv/versions/3.11.7/lib/python3.11/', ''), fr.lineno)] += s.size_diff
    for k, v in groups.items(): print(k, round(v / N / 1024, 1), "KiB per answer")
    for k, v in lines.most_common(40): print(round(v / N / 1024, 2), k)
    await bot.idle()
