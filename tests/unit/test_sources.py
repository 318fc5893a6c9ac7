"""Annotations → the answer's state → what it shows: links in the text, a numbered
list of sources under it, and the files the model made. Over recorded streams
(tests/fixtures/responses/) and small hand-made cases."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from bot.conversation.files_out import (
    CODE_FILE,
    IMAGE,
    MadeFile,
    made_files,
    not_uploaded,
    with_extension,
)
from bot.render.mrkdwn import to_mrkdwn
from bot.render.sources import linked, sources, sources_list, with_sources
from bot.responses.events import (
    Citation,
    Cited,
    Completed,
    Image,
    ImageMade,
    TextDelta,
    ToolActivity,
    parse_event,
)
from bot.responses.reducer import Answer, reduce
from tests.fakes.citation_streams import tiny_png

FIXTURES = Path(__file__).parents[1] / "fixtures" / "responses"
RECORDED = FIXTURES / "recorded"


def events_of(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    found = [line[len("data:") :].strip() for line in lines if line.startswith("data:")]
    return [json.loads(data) for data in found if data != "[DONE]"]


def fold(path: Path, *, after: int = -1) -> Answer:
    """The answer from a recorded stream (from the event after sequence number `after`,
    as a resumed stream starts)."""
    answer = Answer()
    for data in events_of(path):
        if data.get("sequence_number", -1) <= after:
            continue
        event = parse_event(data)
        if event is not None:
            answer = reduce(answer, event)
    return answer


def expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return data["expected"]


# -- annotations into the answer's state -----------------------------------------------------


def test_a_url_citation_is_kept_with_the_part_and_span_it_backs() -> None:
    answer = fold(FIXTURES / "web_search.sse")
    url = "https://www.wallpaper.com/art/exhibitions-shows/berlin-art-week-2025"
    assert answer.citations == (
        Citation(
            "url_citation",
            (1, 0),
            37,
            124,
            url=url,
            title="What to see at Berlin Art Week 2025 | Wallpaper*",
        ),
    )
    cited = answer.text[37:124]
    assert cited == f"([wallpaper.com]({url}))"


@pytest.mark.parametrize(
    ("name", "events", "unique"),
    [
        ("web_search_citation_bold.sse", 1, 1),
        ("web_search_many_citations.sse", 12, 7),
        ("web_search_news_citations.sse", 4, 2),
        ("azure_web_search_citation.sse", 1, 1),
        ("web_search_weather.sse", 0, 0),
    ],
)
def test_every_url_citation_of_a_recorded_stream_is_kept_and_listed_once(
    name: str, events: int, unique: int
) -> None:
    answer = fold(RECORDED / name)
    assert [c.kind for c in answer.citations] == ["url_citation"] * len(answer.citations)
    listed = sources(answer.citations)
    assert len(listed) == unique
    assert [s.number for s in listed] == list(range(1, unique + 1))
    assert len({s.url for s in listed}) == unique and all(s.title for s in listed)
    # Seen once each although every one comes twice: as it is added, and on the final output.
    added = [e for e in events_of(RECORDED / name) if str(e["type"]).endswith("annotation.added")]
    assert len(added) == events
    assert len(answer.citations) == len({json.dumps(e["annotation"]) for e in added})


def test_a_resumed_stream_still_has_the_citations_of_the_final_response() -> None:
    whole = fold(RECORDED / "web_search_many_citations.sse")
    completed = max(
        e["sequence_number"] for e in events_of(RECORDED / "web_search_many_citations.sse")
    )
    resumed = fold(RECORDED / "web_search_many_citations.sse", after=completed - 1)
    assert sources(resumed.citations) == sources(whole.citations)


def test_file_citations_are_kept_with_their_file_names() -> None:
    answer = fold(RECORDED / "file_search_citation.sse")
    [citation] = answer.citations
    assert (citation.kind, citation.filename) == ("file_citation", "tmp8l5_2pzy.txt")
    assert answer.text[citation.start] == "."


def test_a_container_file_citation_is_a_file_to_upload_not_a_source() -> None:
    answer = fold(RECORDED / "markdown_table_two_messages.sse")
    assert sources(answer.citations) == []
    assert made_files(answer) == (
        MadeFile(
            CODE_FILE,
            "cfile_68d5f31200208191afd3130709930804.png",
            container_id="cntr_68d5f2ff755081909108df3898ede7a50cf76b1756858cda",
            file_id="cfile_68d5f31200208191afd3130709930804",
        ),
    )


def test_an_image_item_done_keeps_its_image_and_ends_the_drawing() -> None:
    png = base64.b64encode(tiny_png()).decode()
    item = {"id": "ig_1", "type": "image_generation_call", "status": "completed", "result": png}
    added = parse_event({"type": "response.output_item.added", "item": {**item, "result": None}})
    done = parse_event({"type": "response.output_item.done", "item": item, "sequence_number": 7})
    partial = parse_event(
        {
            "type": "response.image_generation_call.partial_image",
            "item_id": "ig_1",
            "partial_image_index": 0,
            "partial_image_b64": png,
        }
    )
    assert added == ToolActivity("image_generation_call", False, item_id="ig_1", status="completed")
    assert done == ImageMade(Image("ig_1", png), sequence=7)
    answer = Answer()
    for event in (added, partial, done):
        if event is not None:
            answer = reduce(answer, event)
    assert answer.images == (Image("ig_1", png),)
    assert [(a.item_id, a.done) for a in answer.activities] == [("ig_1", True)]
    # The final response carries the image again: still one.
    answer = reduce(answer, Completed("resp_1", None, "", images=(Image("ig_1", png),)))
    assert answer.images == (Image("ig_1", png),)
    assert made_files(answer) == (MadeFile(IMAGE, "image-1", b64=png),)


def test_annotations_of_unknown_kinds_and_without_urls_are_left_out() -> None:
    for annotation in (
        {"type": "file_path", "file_id": "file-1", "index": 3},
        {"type": "url_citation", "start_index": 0, "end_index": 3, "title": "No URL"},
        {"type": "container_file_citation", "file_id": "cfile_1"},
        "not an object",
    ):
        data = {"type": "response.output_text.annotation.added", "annotation": annotation}
        assert parse_event(data) is None


# -- rendering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "web_search_citation_bold",
        "web_search_many_citations",
        "web_search_news_citations",
        "azure_web_search_citation",
    ],
)
def test_text_that_links_its_sources_already_is_kept_and_the_list_added(name: str) -> None:
    answer = fold(RECORDED / f"{name}.sse")
    shown = with_sources(answer)
    body, listed = shown.rsplit("\n\n**Sources**\n", 1)
    assert body == answer.text == expected(name)["output_text"]
    titles = {c["title"] for c in expected(name)["url_citations"]}
    assert len(listed.splitlines()) == len(titles)
    assert shown.count("**Sources**") == 1


@pytest.mark.parametrize(
    "name",
    [
        "web_search_citation_bold",
        "web_search_many_citations",
        "azure_web_search_citation",
        "file_search_citation",
        "file_search_annotations",
    ],
)
def test_in_mrkdwn_every_link_is_a_slack_link(name: str) -> None:
    answer = fold(RECORDED / f"{name}.sse")
    mrkdwn = to_mrkdwn(with_sources(answer))
    assert "](" not in mrkdwn
    for source in sources(answer.citations):
        if source.url:
            assert f"<{source.url}|" in mrkdwn


def test_a_cited_file_is_numbered_where_it_is_cited_and_listed_by_name() -> None:
    answer = fold(RECORDED / "file_search_annotations.sse")
    shown = with_sources(answer)
    assert shown.endswith("can be used as input for other models or NLP tasks [1].\n\n"
                          "**Sources**\n1. ai.pdf")  # fmt: skip
    assert with_sources(fold(RECORDED / "file_search_citation.sse")) == (
        "The capital of France is Paris [1].\n\n**Sources**\n1. tmp8l5_2pzy.txt"
    )


def url(part: tuple[int, int], start: int, end: int, link: str, title: str = "") -> Citation:
    return Citation("url_citation", part, start, end, url=link, title=title)


def test_a_cited_span_without_a_link_becomes_one() -> None:
    text = "Lights start on October 3, says visitBerlin."
    at = text.index("visitBerlin")
    cited = url((0, 0), at, at + len("visitBerlin"), "https://visitberlin.de/x (1)", "Lights")
    assert linked([((0, 0), text)], [cited]) == (
        "Lights start on October 3, says [visitBerlin](https://visitberlin.de/x%20%281%29)."
    )


def test_a_citation_at_one_place_or_over_awkward_text_gets_a_link_after_it() -> None:
    text = "First line\nsecond line. Done"
    at_end = url((0, 0), 23, 23, "https://www.example.com/a", "Example")
    over_lines = url((0, 0), 0, 22, "https://docs.example.org/b", "Docs")
    assert linked([((0, 0), text)], [at_end, over_lines]) == (
        "First line\nsecond line ([docs.example.org](https://docs.example.org/b))."
        " ([example.com](https://www.example.com/a)) Done"
    )


def test_citations_of_another_text_are_listed_but_not_placed() -> None:
    text = "Short."
    stray = url((0, 0), 40, 80, "https://example.com/", "Example")
    other_part = url((3, 0), 0, 2, "https://example.org/", "")
    answer = Answer(parts=(((0, 0), text),), citations=(stray, other_part))
    assert with_sources(answer) == (
        "Short.\n\n**Sources**\n1. [Example](https://example.com/)\n2. [example.org](https://example.org/)"
    )


def test_sources_are_numbered_by_where_the_text_first_cites_them() -> None:
    late = url((1, 0), 50, 60, "https://b.example/", "B")
    early = url((1, 0), 5, 9, "https://a.example/", "A")
    file = Citation("file_citation", (1, 0), 20, 20, file_id="file-1", filename="notes.md")
    again = url((1, 0), 70, 75, "https://a.example/", "A again")
    listed = sources([late, early, file, again])
    assert [(s.number, s.title, s.url) for s in listed] == [
        (1, "A", "https://a.example/"),
        (2, "notes.md", ""),
        (3, "B", "https://b.example/"),
    ]


def test_titles_cannot_break_their_links_and_long_ones_are_shortened() -> None:
    odd = url((0, 0), 0, 0, "https://x.example/", "A [draft] title*\n with `code`")
    long = url((0, 0), 1, 1, "https://y.example/", "word " * 60)
    listed = sources_list([odd, long])
    first, second = listed.splitlines()[1:]
    assert first == "1. [A (draft) title* with `code`](https://x.example/)"
    assert len(second) < 160 and second.endswith("…](https://y.example/)")
    assert to_mrkdwn(listed).splitlines()[1] == "1. <https://x.example/|A (draft) title* with code>"


def test_links_into_the_code_sandbox_keep_only_their_words() -> None:
    answer = Answer(
        parts=(
            (
                (0, 0),
                "Saved as [out.csv](sandbox:/mnt/data/out.csv) and "
                "![chart](sandbox:/mnt/data/c.png).",
            ),
        )
    )
    assert with_sources(answer) == "Saved as out.csv and chart."


def test_an_answer_without_citations_shows_as_it_was_said() -> None:
    answer = reduce(Answer(), TextDelta((0, 0), "Plain [link](https://example.com)."))
    assert with_sources(answer) == "Plain [link](https://example.com)."
    cited = reduce(answer, Cited(url((0, 0), 6, 32, "https://example.com", "Example")))
    assert with_sources(cited).startswith("Plain [link](https://example.com).\n\n**Sources**")


# -- files out -----------------------------------------------------------------------------------


def test_an_image_is_named_by_what_its_bytes_are() -> None:
    assert with_extension("image-1", tiny_png()) == "image-1.png"
    assert with_extension("image-2", b"\xff\xd8\xff\xe0....") == "image-2.jpg"
    assert with_extension("image-3", b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image-3.webp"
    assert with_extension("photo.jpeg", tiny_png()) == "photo.jpeg"


def test_files_that_could_not_be_shared_are_said_in_plain_words() -> None:
    image = MadeFile(IMAGE, "image-1", b64="x")
    csv = MadeFile(CODE_FILE, "out.csv", container_id="c", file_id="f")
    chart = MadeFile(CODE_FILE, "chart.png", container_id="c", file_id="g")
    assert not_uploaded([]) is None
    assert not_uploaded([image]) == "I made an image but couldn't upload it."
    assert not_uploaded([image, image]) == "I made 2 images but couldn't upload them."
    assert not_uploaded([csv, chart]) == (
        "My code wrote out.csv, chart.png but I couldn't upload them."
    )


def test_a_code_file_is_uploaded_once_however_often_it_is_cited() -> None:
    one = Citation("container_file_citation", (1, 0), 0, 0, file_id="cfile_1",
                   filename="/mnt/data/out.csv", container_id="cntr_1")  # fmt: skip
    again = Citation("container_file_citation", (1, 0), 9, 20, file_id="cfile_1",
                     filename="out.csv", container_id="cntr_1")  # fmt: skip
    answer = Answer(citations=(one, again))
    assert made_files(answer) == (
        MadeFile(CODE_FILE, "out.csv", container_id="cntr_1", file_id="cfile_1"),
    )


def test_a_page_cited_with_and_without_tracking_tags_is_listed_once() -> None:
    tagged = url((0, 0), 0, 0, "https://a.example/x?id=1&utm_source=openai", "A")
    plain = url((0, 0), 5, 5, "https://a.example/x?id=1#part", "A again")
    listed = sources([tagged, plain])
    assert [(s.title, s.url) for s in listed] == [("A", tagged.url)]


def test_a_span_inside_a_link_the_model_wrote_is_left_as_it_is() -> None:
    text = "See [the guide](https://guide.example/v2) for more."
    at = text.index("the guide")
    cited = url((0, 0), at, at + len("the guide"), "https://guide.example/v2?utm_source=openai")
    assert linked([((0, 0), text)], [cited]) == text
