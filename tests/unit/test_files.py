"""Files in, the pure parts: which files the model can take and as what, the size rule,
the content parts, where a file may be fetched from, and the files of a Slack event."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from bot.conversation import files
from bot.conversation.file_reading import Read, Unreadable, read_files
from bot.conversation.files import FileRef, Kind, kind_of, parts_for, precheck
from bot.conversation.parameters import Parameters
from bot.conversation.request import Said, build_request
from bot.conversation.turn import Turn
from bot.slack.file_reader import is_sign_in_page, shared_in
from bot.slack.file_refs import file_of, files_of, on_file_host
from bot.slack.payloads import heard_from_event, turn_from_event
from tests.e2e.file_payloads import PDF, png

MB = 1024 * 1024
API = "https://slack.com/api/"


def ref(name: str, mimetype: str = "", filetype: str = "", size: int = 10) -> FileRef:
    return FileRef("F1", name, mimetype, filetype, size, "https://files.slack.com/x")


# Which files, as what ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mimetype", "filetype", "kind"),
    [
        ("image/png", "png", Kind.IMAGE),
        ("image/jpeg", "jpg", Kind.IMAGE),
        ("image/gif", "gif", Kind.IMAGE),
        ("image/webp", "webp", Kind.IMAGE),
        ("", "jpg", Kind.IMAGE),
        ("application/pdf", "pdf", Kind.PDF),
        ("application/octet-stream", "pdf", Kind.PDF),
        ("text/plain", "text", Kind.TEXT),
        ("text/csv", "csv", Kind.TEXT),
        ("text/markdown", "markdown", Kind.TEXT),
        ("application/json", "json", Kind.TEXT),
        ("text/x-python", "python", Kind.TEXT),
        ("application/octet-stream", "go", Kind.TEXT),  # a snippet in a language
        ("image/heic", "heic", None),
        ("image/svg+xml", "svg", None),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", None),
        ("application/zip", "zip", None),
        ("video/mp4", "mp4", None),
        ("", "", None),
    ],
)
def test_which_files_the_model_takes(mimetype: str, filetype: str, kind: Kind | None) -> None:
    assert kind_of(ref("f", mimetype, filetype)) is kind


def test_a_file_is_not_fetched_when_its_type_or_its_size_rules_it_out() -> None:
    assert precheck(ref("a.png", "image/png", size=20 * MB), 20 * MB) is None  # at the cap
    over = ref("a.png", "image/png", size=20 * MB + 1)
    assert precheck(over, 20 * MB) == "it is larger than 20 MB"
    assert precheck(ref("a.zip", "application/zip"), 20 * MB) == files.UNSUPPORTED
    assert files.megabytes(int(2.5 * MB)) == "2.5 MB"


def test_notes_name_the_file_without_slack_markup() -> None:
    note = files.not_read(ref("<!channel> & co.xlsx"), files.UNSUPPORTED)
    assert note == (
        "I couldn't read &lt;!channel&gt; &amp; co.xlsx: I read images (PNG, JPEG, GIF, WebP), "
        "PDFs and text files."
    )
    assert files.not_read(FileRef("F1"), files.GONE).startswith("I couldn't read a file:")


# The content parts ----------------------------------------------------------------------


def test_an_image_is_an_input_image_of_its_real_type() -> None:
    image = png()
    [part] = parts_for(ref("photo.jpg", "image/jpeg"), image)  # Slack said JPEG; it is a PNG
    assert part == {
        "type": "input_image",
        "image_url": "data:image/png;base64," + base64.b64encode(image).decode(),
        "detail": "auto",
    }


def test_a_pdf_is_an_input_file_with_its_name() -> None:
    [part] = parts_for(ref("q3.pdf", "application/pdf"), PDF)
    assert part["type"] == "input_file" and part["filename"] == "q3.pdf"
    assert part["file_data"] == "data:application/pdf;base64," + base64.b64encode(PDF).decode()


def test_bytes_that_are_not_what_the_file_says_are_not_sent() -> None:
    page = b"<!DOCTYPE html><html>Sign in</html>"
    assert parts_for(ref("a.png", "image/png"), page) == files.NOT_WHAT_IT_SAYS
    assert parts_for(ref("a.pdf", "application/pdf"), page) == files.NOT_WHAT_IT_SAYS
    assert parts_for(ref("a.txt", "text/plain"), b"\x00\x01binary") == files.NOT_WHAT_IT_SAYS


def test_a_text_file_is_input_text_with_its_name_and_cut_when_long() -> None:
    [part] = parts_for(ref("data.csv", "text/csv"), "a,b\n1,ü\n".encode())
    assert part == {"type": "input_text", "text": "File data.csv:\n\na,b\n1,ü\n"}
    [long] = parts_for(ref("big.txt", "text/plain"), b"z" * (files.MAX_FILE_TEXT + 5))
    assert long["text"].count("z") == files.MAX_FILE_TEXT
    assert long["text"].endswith(
        "[… the rest of big.txt is left out: only its first 100,000 characters are sent.]"
    )


def test_the_request_carries_each_file_with_the_message_it_came_on() -> None:
    shot, log = FileRef("F1", "a.png"), FileRef("F2", "b.log")
    turn = Turn("T1", "C1", "1.0", "U1", "3.0", "", files=(shot,))
    earlier = (Said("U2", "here's the log", files=(log,)), Said("", "Thanks."))
    image = {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "auto"}
    text = {"type": "input_text", "text": "File b.log:\n\nboom"}
    body = build_request(
        turn,
        Parameters(model="m", instructions=""),
        previous_response_id=None,
        earlier=earlier,
        files={"F1": [image], "F2": [text]},
    )
    heard, said, asked = body["input"]
    assert heard["content"] == [{"type": "input_text", "text": "<@U2>: here's the log"}, text]
    assert said["role"] == "assistant"
    assert asked["content"] == [
        {"type": "input_text", "text": "<@U1>: (sent the attached files)"},
        image,
    ]


def test_a_file_not_read_is_simply_not_in_the_request() -> None:
    turn = Turn("T1", "C1", "1.0", "U1", "3.0", "look", files=(FileRef("F1", "a.xlsx"),))
    parameters = Parameters(model="m", instructions="")
    body = build_request(turn, parameters, previous_response_id=None, files={})
    assert body["input"][0]["content"] == [{"type": "input_text", "text": "<@U1>: look"}]


# Kept with the turn -------------------------------------------------------------------


def test_a_turn_kept_in_the_database_comes_back_with_its_files() -> None:
    turn = Turn("T1", "C1", "1.0", "U1", "1.0", "hi", files=(ref("a.png", "image/png"),))
    kept = json.loads(json.dumps(turn.kept()))
    assert kept["files"][0]["url"] == "https://files.slack.com/x"  # references, no bytes
    assert Turn(**kept) == turn and hash(Turn(**kept)) == hash(turn)


def test_a_turn_going_on_after_an_approval_comes_back_whole() -> None:
    continues = {"response_id": "resp_1", "input": [{"type": "function_call_output"}]}
    turn = Turn("T1", "C1", "1.0", "U1", "1.0", "hi", continues=continues)
    kept = json.loads(json.dumps(turn.kept()))
    assert kept["continues"] == continues
    assert Turn(**kept) == turn


# Reading, through any reader ---------------------------------------------------------


class Reader:
    def __init__(self, found: dict[str, bytes | Exception]) -> None:
        self.found = found
        self.fetched: list[str] = []

    async def look_up(self, turn: Turn, file: FileRef) -> FileRef:
        raise Unreadable(files.GONE)

    async def fetch(self, turn: Turn, file: FileRef, max_bytes: int) -> bytes:
        self.fetched.append(file.id)
        value = self.found[file.id]
        if isinstance(value, Exception):
            raise value
        return value


async def test_reading_gives_parts_for_some_files_and_notes_for_the_others() -> None:
    good = FileRef("F1", "a.png", "image/png", "png", 10, "https://files.slack.com/1")
    refused = FileRef("F2", "b.pdf", "application/pdf", "pdf", 10, "https://files.slack.com/2")
    broken = FileRef("F3", "c.txt", "text/plain", "text", 10, "https://files.slack.com/3")
    sheet = FileRef("F4", "d.xlsx", "", "xlsx", 10, "https://files.slack.com/4")
    reader = Reader({"F1": png(), "F2": Unreadable(files.NO_ACCESS), "F3": OSError("reset")})
    turn = Turn("T1", "C1", "1.0", "U1", "1.0", "?")
    read = await read_files(reader, turn, [good, refused, broken, sheet, good], 20 * MB)
    assert list(read.parts) == ["F1"]
    assert read.notes == (
        "I couldn't read b.pdf: Slack didn't let me open it.",
        "I couldn't read c.txt: Slack didn't send it just now.",
        "I couldn't read d.xlsx: " + files.UNSUPPORTED + ".",
    )
    assert reader.fetched == ["F1", "F2", "F3"]  # each once; the xlsx never


async def test_at_most_ten_files_are_read() -> None:
    url = "https://files.slack.com/"
    many = [FileRef(f"F{i}", f"{i}.txt", "text/plain", "", 1, url) for i in range(12)]
    reader = Reader({f.id: b"x" for f in many})
    read = await read_files(reader, Turn("T1", "C1", "1", "U1", "1", ""), many, MB)
    assert len(read.parts) == 10 and len(reader.fetched) == 10
    assert read.notes == tuple(f"I couldn't read {i}.txt: {files.TOO_MANY}." for i in (10, 11))
    assert Read().note == ""


# Where a file may come from ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://files.slack.com/files-pri/T1-F1/download/a.png", True),
        ("https://FILES.SLACK.COM/files-pri/T1-F1/a.png", True),
        ("https://files.slack.com:443/files-pri/T1-F1/a.png", True),
        ("http://files.slack.com/files-pri/T1-F1/a.png", False),  # the token in the clear
        ("https://files.slack.com:8443/x", False),
        ("https://files.slack.com.evil.example/x", False),
        ("https://evil.example/files.slack.com/x", False),
        ("https://user:pw@files.slack.com/x", False),
        ("https://slack-files.com/x", False),
        ("https://example.com/a.png", False),
        ("ftp://files.slack.com/x", False),
        ("file:///etc/passwd", False),
        ("", False),
        ("https://[::1/x", False),
    ],
)
def test_only_slack_s_file_host_is_fetched_from(url: str, allowed: bool) -> None:
    assert on_file_host(url, API) is allowed


def test_the_file_host_follows_slack_api_url() -> None:
    assert on_file_host("https://files.slack-gov.com/f", "https://slack-gov.com/api/")
    fake = "http://127.0.0.1:4321/api/"  # tests, or a proxy: its very origin only
    assert on_file_host("http://127.0.0.1:4321/files-pri/T1-F1/a.png", fake)
    assert not on_file_host("http://127.0.0.1:4322/files-pri/T1-F1/a.png", fake)
    assert not on_file_host("https://127.0.0.1:4321/x", fake)
    assert not on_file_host("http://localhost:4321/x", fake)


def test_a_sign_in_page_is_told_from_a_file() -> None:
    assert is_sign_in_page(ref("a.png", "image/png"), "text/html; charset=utf-8")
    assert not is_sign_in_page(ref("a.png", "image/png"), "image/png")
    assert not is_sign_in_page(ref("page.html", "text/html"), "text/html")


def test_a_file_looked_up_is_read_only_where_it_is_shared() -> None:
    assert shared_in({"channels": ["C1"]}, "C1")
    assert shared_in({"ims": ["D1"]}, "D1")
    assert shared_in({"shares": {"private": {"G1": [{"ts": "1.0"}]}}}, "G1")
    assert not shared_in({"channels": ["C2"], "shares": {"public": {"C2": []}}}, "C1")
    assert not shared_in({}, "C1")


# The files of a Slack event -----------------------------------------------------------

SLACK_FILE: dict[str, Any] = {
    "id": "F0A1",
    "name": "shot.png",
    "title": "Screenshot",
    "mimetype": "image/png",
    "filetype": "png",
    "size": 1234,
    "url_private": "https://files.slack.com/files-pri/T1-F0A1/shot.png",
    "url_private_download": "https://files.slack.com/files-pri/T1-F0A1/download/shot.png",
}


def test_a_slack_file_object_becomes_a_reference() -> None:
    assert file_of(SLACK_FILE) == FileRef(
        "F0A1", "shot.png", "image/png", "png", 1234, SLACK_FILE["url_private_download"]
    )
    private_only = {k: v for k, v in SLACK_FILE.items() if k != "url_private_download"}
    assert file_of(private_only) == FileRef(
        "F0A1", "shot.png", "image/png", "png", 1234, SLACK_FILE["url_private"]
    )
    connect = {"id": "F0A2", "mode": "file_access", "file_access": "check_file_info"}
    assert file_of(connect) == FileRef("F0A2")  # looked up when read
    for junk in (None, "F1", {}, {"id": 5}, {"id": ""}):
        assert file_of(junk) is None
    assert file_of({**SLACK_FILE, "size": "big"}) == FileRef(
        "F0A1", "shot.png", "image/png", "png", 0, SLACK_FILE["url_private_download"]
    )
    assert files_of({"files": "nope"}) == () and files_of({}) == ()


def body(event: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": "T1", "event": event}


def test_a_question_with_files_is_a_turn_with_them_even_without_text() -> None:
    mention = {"type": "app_mention", "user": "U1", "text": "<@UBOT> what's this?",
               "ts": "10.1", "channel": "C1", "files": [SLACK_FILE]}  # fmt: skip
    turn = turn_from_event(body(mention), "UBOT")
    assert turn is not None and turn.files == (file_of(SLACK_FILE),)
    dm = {"type": "message", "subtype": "file_share", "channel_type": "im", "user": "U1",
          "text": "", "ts": "11.0", "channel": "D1", "files": [SLACK_FILE]}  # fmt: skip
    turn = turn_from_event(body(dm), "UBOT")
    assert turn is not None and turn.text == "" and len(turn.files) == 1


def test_a_reply_with_only_a_file_is_heard_with_it() -> None:
    reply = {"type": "message", "subtype": "file_share", "channel_type": "channel",
             "user": "U2", "text": "", "ts": "12.0", "thread_ts": "10.1", "channel": "C1",
             "files": [SLACK_FILE]}  # fmt: skip
    heard = heard_from_event(body(reply), "UBOT")
    assert heard is not None and heard.text == "" and heard.files == (file_of(SLACK_FILE),)
    assert heard_from_event(body({**reply, "files": []}), "UBOT") is None  # nothing said


async def test_files_beyond_what_one_request_takes_are_left_out_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(files, "MAX_TOTAL_BYTES", 9_000)
    url = "https://files.slack.com/"
    big = [FileRef(f"F{i}", f"{i}.pdf", "application/pdf", "", 3_100, url) for i in range(3)]
    reader = Reader({f.id: PDF + b"x" * 3_000 for f in big})  # about 4,200 bytes in base64
    read = await read_files(reader, Turn("T1", "C1", "1", "U1", "1", ""), big, 4_000)
    assert list(read.parts) == ["F0", "F1"]
    assert read.notes == (f"I couldn't read 2.pdf: {files.TOO_MUCH}.",)
