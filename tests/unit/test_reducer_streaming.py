"""The reducer's text as an answer streams: the same at every step as the parts joined
in output order, however the deltas come and whatever earlier state is reduced again."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from bot.responses.events import Completed, TextDelta, TextDone, Thought
from bot.responses.reducer import Answer, reduce

Key = tuple[int, int]
keys = st.tuples(st.integers(0, 2), st.integers(0, 1))
texts = st.text(alphabet="ab \n", max_size=4)
steps = st.lists(st.tuples(st.booleans(), keys, texts), max_size=40)


def joined(parts: dict[Key, str]) -> str:
    return "\n\n".join(text for _, text in sorted(parts.items()) if text)


@given(steps)
def test_every_streamed_prefix_has_the_text_of_its_parts_joined(events: list) -> None:
    answer, parts = Answer(), {}
    for whole, key, text in events:
        if whole:
            answer, parts[key] = reduce(answer, TextDone(key, text)), text
        else:
            answer = reduce(answer, TextDelta(key, text))
            if text:
                parts[key] = parts.get(key, "") + text
        assert answer.text == joined(parts)
        assert answer.parts == tuple(sorted(parts.items()))
        assert answer == Answer(parts=answer.parts)  # equal to one built from its parts
        assert replace(answer).text == answer.text


@given(steps, st.integers(0, 40), keys, texts)
def test_an_earlier_state_reduced_again_is_not_changed_by_later_ones(
    events: list, at: int, key: Key, text: str
) -> None:
    states = [Answer()]
    for whole, k, t in events:
        event = TextDone(k, t) if whole else TextDelta(k, t)
        states.append(reduce(states[-1], event))
    earlier = states[min(at, len(states) - 1)]
    before = earlier.text
    branch = reduce(earlier, TextDelta(key, text))
    reduce(states[-1], TextDelta(key, "zz"))
    assert earlier.text == before
    parts = dict(earlier.parts)
    if text:
        parts[key] = parts.get(key, "") + text
    assert branch.text == joined(parts)


def test_the_text_is_kept_across_other_events_and_at_the_end() -> None:
    answer = reduce(Answer(), TextDelta((0, 0), "Hello"))
    answer = reduce(answer, Thought("rs_1", "thinking"))
    answer = reduce(answer, TextDelta((0, 0), ", world"))
    assert answer.text == "Hello, world"
    done = reduce(answer, Completed("resp_1", None, "Hello, world"))
    assert done.text == "Hello, world" and done.ended
    assert reduce(done, TextDelta((0, 0), "!")) is done
