"""Markdown → Slack mrkdwn: one example per rule, then properties."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render.mrkdwn import RULE, to_mrkdwn

ZWSP = "\u200b"


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        # emphasis
        ("**bold**", "*bold*"),
        ("__bold__", "*bold*"),
        ("*italic*", "_italic_"),
        ("_italic_", "_italic_"),
        ("~~gone~~", "~gone~"),
        ("***both***", "_*both*_"),
        ("**bold with *italic* inside**", "*bold with _italic_ inside*"),
        ("**a****b**", "*ab*"),
        ("foo**bar**baz", f"foo{ZWSP}*bar*{ZWSP}baz"),
        ("snake_case_name", "snake_case_name"),
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("~5 minutes", "~5 minutes"),
        (r"\*literal\* \_x\_", "*literal* _x_"),
        # links
        ("[docs](https://example.com/a?b=1&c=2)", "<https://example.com/a?b=1&amp;c=2|docs>"),
        (
            "[wiki](https://en.wikipedia.org/wiki/Foo_(bar))",
            "<https://en.wikipedia.org/wiki/Foo_(bar)|wiki>",
        ),
        ('[t](https://x.io "Title")', "<https://x.io|t>"),
        ("[**bold** label](https://x.io)", "<https://x.io|bold label>"),
        ("[https://x.io](https://x.io)", "<https://x.io>"),
        ("![a cat](https://x.io/cat.png)", "<https://x.io/cat.png|a cat>"),
        ("[section](#usage)", "section"),
        ("<https://x.io/a_b_c>", "<https://x.io/a_b_c>"),
        ("<me@example.com>", "<mailto:me@example.com|me@example.com>"),
        ("see https://x.io/a_b_c.", "see <https://x.io/a_b_c>."),
        ("(https://x.io)", "(<https://x.io>)"),
        ("**https://x.io**", "*<https://x.io>*"),
        # escaping
        ("a & b < c > d", "a &amp; b &lt; c &gt; d"),
        ("<div>", "&lt;div&gt;"),
        # People and channels stay mentions; broadcasts never ping from a model's text.
        ("<!channel> <@U123> <#C456|general>", "&lt;!channel&gt; <@U123> <#C456|general>"),
        ("<@u123> <@U1>", "&lt;@u123&gt; &lt;@U1&gt;"),
        # inline code: escaped, never converted
        ("`a**b**_c_ <x> & [l](https://x.io)`", "`a**b**_c_ &lt;x&gt; &amp; [l](https://x.io)`"),
        ("``a `b` c``", "`a \u02cbb\u02cb c`"),
        ("a `unclosed", "a \u02cbunclosed"),
        (r"a \` b `code`", "a \u02cb b `code`"),
        ("```x```", "`x`"),
        # headings
        ("# Title", "*Title*"),
        ("### **Already bold** heading ###", "*Already bold heading*"),
        ("###### Six", "*Six*"),
        ("####### seven", "####### seven"),
        ("#hashtag", "#hashtag"),
        ("## C#", "*C#*"),
        ("#", ""),
        # rules
        ("---", RULE),
        ("* * *", RULE),
        ("___", RULE),
        # lists
        ("- one\n* two\n+ three", "• one\n• two\n• three"),
        ("- a\n  - b\n    - c\n- d", "• a\n    • b\n        • c\n• d"),
        ("1. one\n2. two\n   - sub\n3) three", "1. one\n2. two\n    • sub\n3) three"),
        ("- [ ] todo\n- [x] done", "• ☐ todo\n• ☑ done"),
        ("- item\n  more of it\n\ntext", "• item\n    more of it\n\ntext"),
        ("- **bold** item", "• *bold* item"),
        ("-5 degrees", "-5 degrees"),
        # quotes
        ("> quoted **text**", "> quoted *text*"),
        ("> > nested\n>\n> - item", "> nested\n>\n> • item"),
        ("> # Heading", "> *Heading*"),
        ("> - a\n>   - b\n> - c\n\n- d", "> • a\n>     • b\n> • c\n\n• d"),
        # fenced code: tag dropped, content only escaped
        ("```python\nx = a**2 < b & c\n```", "```\nx = a**2 &lt; b &amp; c\n```"),
        ("~~~\n# not a heading\n- nor a list\n~~~", "```\n# not a heading\n- nor a list\n```"),
        ("````md\n```\ninner\n```\n````", "```\nˋˋˋ\ninner\nˋˋˋ\n```"),
        ("```sh\necho `date`\n```", "```\necho `date`\n```"),
        ("- item\n  ```sh\n  ls -l\n  ```", "• item\n```\nls -l\n```"),
        ("text\n```\n\n```\nmore", "text\nmore"),
        # blank lines and paragraphs are kept
        ("one\n\ntwo\r\nthree", "one\n\ntwo\nthree"),
    ],
)
def test_rule(markdown: str, expected: str) -> None:
    assert to_mrkdwn(markdown) == expected


def test_table_becomes_aligned_code_block() -> None:
    markdown = (
        "| Name | Count | Link |\n"
        "|:-----|------:|:----:|\n"
        "| **a** | 1 | [x](https://x.io) |\n"
        "| long name | 1000 | <b> |\n"
        "after"
    )
    assert to_mrkdwn(markdown) == (
        "```\n"
        "Name      | Count |       Link\n"
        "----------+-------+-----------------\n"
        "a         |     1 | x (https://x.io)\n"
        "long name |  1000 |       &lt;b&gt;\n"
        "```\n"
        "after"
    )


def test_pipe_lines_without_delimiter_row_are_text() -> None:
    assert to_mrkdwn("a | b\nc | d") == "a | b\nc | d"


@pytest.mark.parametrize(
    ("partial", "expected"),
    [
        ("Some **bold te", "Some bold te"),
        ("Some **bold text*", "Some _bold text_"),
        ("Some **bold text**", "Some *bold text*"),
        ("***", RULE),
        ("**", ""),
        ("Here:\n```python\nprint('hi')", "Here:\n```\nprint('hi')\n```"),
        ("Here:\n```python", "Here:"),
        ("Here:\n``", "Here:\n\u02cb\u02cb"),
        ("Read [the docs](https://exa", "Read [the docs](<https://exa>"),
        ("| a | b |", "| a | b |"),
        # GFM: a table needs a delimiter row with as many cells as its header row.
        ("| a | b |\n|--", "| a | b |\n|--"),
        ("| a | b |\n|---|-", "```\na | b\n--+--\n```"),
        ("1. first\n2.", "1. first\n2."),
        ("- ", "•"),
        # a list on its way under a paragraph, not a heading's underline
        ("Steps:\n-", "Steps:"),
        ("Steps:\n- ", "Steps:"),
        ("Steps:\n- a", "Steps:\n• a"),
        ("> Steps:\n> -", "> Steps:"),
        ("Heading\n--", "*Heading*"),
    ],
)
def test_partial_text_while_streaming(partial: str, expected: str) -> None:
    assert to_mrkdwn(partial) == expected


def test_streamed_prefixes_never_show_doubled_stars() -> None:
    answer = (
        "## Plan\n\n**Step 1:** read `config.py` and the *docs*.\n"
        "- **Bold item** with [a link](https://x.io/a_b)\n"
        "```python\nprint(2 ** 10)\n```\n| k | v |\n|---|---|\n| **x** | 1 |\n"
    )
    for end in range(len(answer) + 1):
        assert "**" not in _outside_code(to_mrkdwn(answer[:end])), answer[:end]


# --- properties ----------------------------------------------------------------


def _outside_code(mrkdwn: str) -> str:
    """mrkdwn with each code block and inline code replaced by a placeholder."""
    without_blocks = re.sub(r"```.*?```", "§", mrkdwn, flags=re.DOTALL)
    return re.sub(r"`[^`\n]+`", "§", without_blocks)


_TOKENS = st.sampled_from(
    [
        "*", "**", "***", "_", "__", "~~", "`", "``", "```", "```py", "\n", "\n\n", " ", "  ",
        "#", "## ", "- ", "1. ", "> ", "---", "|", "|---|", "[", "](", ")", "https://x.io/a_b",
        "<", ">", "&", "\\", "word", "a", "é", "中", ".", ",", ":", "!",
    ]
)  # fmt: skip
_MARKDOWNISH = st.lists(st.one_of(_TOKENS, st.text(max_size=3)), max_size=60).map("".join)


@given(st.text())
def test_never_raises_and_escapes_text(text: str) -> None:
    out = to_mrkdwn(text)
    assert isinstance(out, str)


@given(st.text(alphabet=st.characters(blacklist_characters="`")))
def test_no_doubled_stars_without_code(text: str) -> None:
    # Code blocks need no backtick (`~~~` fences, indented code) and keep `**` as written.
    assert "**" not in _outside_code(to_mrkdwn(text))


@given(_MARKDOWNISH)
def test_no_doubled_stars_outside_code(text: str) -> None:
    assert "**" not in _outside_code(to_mrkdwn(text))


@given(_MARKDOWNISH)
def test_no_raw_angle_brackets_outside_links(text: str) -> None:
    # Every `<` opens a link we made, and every `>` not closing one is a quote.
    out = _outside_code(to_mrkdwn(text))
    out = re.sub(r"<(?:https?|mailto):[^<>\s]*>", "", out)
    out = "\n".join(line[1:] if line.startswith(">") else line for line in out.split("\n"))
    assert "<" not in out
    assert ">" not in out


@given(st.text(alphabet=st.sampled_from("ab *_~`#>-|\n[]()&<")))
def test_code_blocks_balanced(text: str) -> None:
    fences = [line for line in to_mrkdwn(text).split("\n") if line.startswith("```")]
    assert len(fences) % 2 == 0


# --- what the hand-written parser got wrong (issue 11) ---------------------------


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        # reference-style links and images resolve; their definitions are not shown
        (
            "See [the docs][docs] and ![the logo][logo].\n\n"
            "[docs]: https://x.io/docs\n"
            '[logo]: https://x.io/logo.png "Logo"',
            "See <https://x.io/docs|the docs> and <https://x.io/logo.png|the logo>.",
        ),
        (
            "[Docs][] and [docs]\n\n[DOCS]: https://x.io",
            "<https://x.io|Docs> and <https://x.io|docs>",
        ),
        ("[a][missing]", "[a][missing]"),
        ("[id]: https://x.io\n\ntext", "text"),
        # HTML comments are dropped, inline and as blocks, even unclosed at the end
        ("a <!-- hidden --> b", "a  b"),
        ("<!-- note to self -->\ntext", "text"),
        ("one\n\n<!--\nhidden\n\nstill hidden\n-->\n\ntwo", "one\n\ntwo"),
        ("text\n\n<!-- unfinished", "text"),
        # other HTML is shown as text, and Markdown inside an HTML block still renders
        ("<div>\n**x** & y\n</div>", "&lt;div&gt;\n*x* &amp; y\n&lt;/div&gt;"),
        # a lazy continuation line stays in its quote
        ("> quoted\nlazy line\n\nafter", "> quoted\n> lazy line\n\nafter"),
        ("> - item\ncontinued", "> • item\n>     continued"),
        # footnotes become numbers, the notes listed at the end
        (
            "Claim[^1] and more[^note], again[^1].\n\n[^1]: Source one.\n[^note]: Source **two**.",
            "Claim[1] and more[2], again[1].\n\n[1] Source one.\n[2] Source *two*.",
        ),
        ("Streaming[^1] and", "Streaming[1] and"),
        # Slack's own link syntax, as a model may write it
        ("<https://x.io/a_b|the docs> & more", "<https://x.io/a_b|the docs> &amp; more"),
        # entities are text, escaped again for mrkdwn
        ("&amp; &lt;b&gt; &copy;", "&amp; &lt;b&gt; ©"),
    ],
)
def test_commonmark_cases(markdown: str, expected: str) -> None:
    assert to_mrkdwn(markdown) == expected


def test_emphasis_never_spans_lines() -> None:
    # mrkdwn emphasis ends at a line end, so each line gets its own marks.
    assert to_mrkdwn("**bold\ntext** and _it\nalic_") == "*bold*\n*text* and _it_\n_alic_"


def test_table_ends_at_a_line_without_pipes() -> None:
    markdown = "| a | b |\n|---|---|\n| 1 | 2 |\nafter *that*\n| x |"
    assert to_mrkdwn(markdown) == "```\na | b\n--+--\n1 | 2\n```\nafter _that_\n| x |"


# --- every streamed prefix of every input renders well-formed mrkdwn ------------------

_CONSTRUCT = re.compile(
    r"<(?:[a-zA-Z][a-zA-Z0-9+.\-]*:[^<>\s|]*(?:\|[^<>]*)?"  # a link, with or without label
    r"|@[UW][A-Z0-9]+(?:\|[^<>|]*)?|#C[A-Z0-9]+(?:\|[^<>|]*)?)>"  # a mention
)
_ENTITY_OR_NOT_AMP = re.compile(r"&(?!amp;|lt;|gt;)")
_MIXED_ANSWER = """\
## Plan for *today*

Here is what we'll do, step by step[^why]:

1. Read `config.py` and the **docs** at https://x.io/docs_v2.
2. Ask <@U12345> in <#C9999|general> about [the schema][schema].
   - check _snake_case_names_ & <div> tags
   - [ ] open a ticket
3) Compare ~~old~~ new:

> **Note:** quoted text
that continues lazily, with a [link](https://x.io/a?b=1&c=2 "title").

```python
def f(x):
    return x ** 2 < 10 & True
```

| Step | Owner | Link |
|:-----|------:|:----:|
| 1 | **me** | [a](https://x.io) |
| 2 | you | <b> |

<!-- not for the reader -->
Heading
-------

    indented code *not* emphasis

![diagram][schema] and a hard\\
break, an image ![cat](https://x.io/cat.png), and one more.

[schema]: https://x.io/schema "Schema"
[^why]: Because **it is** in the plan.
"""


def _inputs() -> list[str]:
    """Every Markdown input this module tests, and a mixed answer."""
    inputs = [_MIXED_ANSWER]
    for test in (test_rule, test_partial_text_while_streaming, test_commonmark_cases):
        for mark in getattr(test, "pytestmark", []):
            if mark.name == "parametrize":
                inputs.extend(str(case[0]) for case in mark.args[1])
    return inputs


def _assert_well_formed(mrkdwn: str) -> None:
    fences = [line for line in mrkdwn.split("\n") if line.removeprefix("> ").startswith("```")]
    assert len(fences) % 2 == 0, "unbalanced code fences"
    assert "**" not in _outside_code(mrkdwn), "a doubled star"
    assert not _ENTITY_OR_NOT_AMP.search(mrkdwn), "an unescaped &"
    rest = _CONSTRUCT.sub("", mrkdwn)
    assert "<" not in rest, "an unescaped <"
    rest = "\n".join(line[1:] if line.startswith(">") else line for line in rest.split("\n"))
    assert ">" not in rest, "an unescaped >"


def test_every_prefix_of_every_input_renders_well_formed() -> None:
    inputs = _inputs()
    assert len(inputs) > 80
    for text in inputs:
        for end in range(len(text) + 1):
            prefix = text[:end]
            try:
                _assert_well_formed(to_mrkdwn(prefix))
            except AssertionError as error:
                raise AssertionError(f"{error} for {prefix!r}: {to_mrkdwn(prefix)!r}") from None


def test_mixed_answer() -> None:
    assert to_mrkdwn(_MIXED_ANSWER) == (
        "*Plan for _today_*\n"
        "\n"
        "Here is what we'll do, step by step[1]:\n"
        "\n"
        "1. Read `config.py` and the *docs* at <https://x.io/docs_v2>.\n"
        "2. Ask <@U12345> in <#C9999|general> about <https://x.io/schema|the schema>.\n"
        "    • check _snake_case_names_ &amp; &lt;div&gt; tags\n"
        "    • ☐ open a ticket\n"
        "3) Compare ~old~ new:\n"
        "\n"
        "> *Note:* quoted text\n"
        "> that continues lazily, with a <https://x.io/a?b=1&amp;c=2|link>.\n"
        "\n"
        "```\n"
        "def f(x):\n"
        "    return x ** 2 &lt; 10 &amp; True\n"
        "```\n"
        "\n"
        "```\n"
        "Step | Owner |       Link\n"
        "-----+-------+-----------------\n"
        "1    |    me | a (https://x.io)\n"
        "2    |   you |       &lt;b&gt;\n"
        "```\n"
        "\n"
        "*Heading*\n"
        "\n"
        "```\n"
        "indented code *not* emphasis\n"
        "```\n"
        "\n"
        "<https://x.io/schema|diagram> and a hard\n"
        "break, an image <https://x.io/cat.png|cat>, and one more.\n"
        "\n"
        "[1] Because *it is* in the plan."
    )
