"""What rendering Markdown to mrkdwn costs, per 12,000-character answer.

    python -m bench.render [--chars 12000] [--runs 50]

The answer is made here, the same every run: sections of mixed Markdown (headings,
paragraphs with emphasis, inline code, links and bare URLs, nested and ordered lists,
a task list, a quote, a fenced code block, a table, a reference link and a footnote),
repeated and cut to `--chars`. Reported, as the median and the slowest of `--runs`
renders, in milliseconds:

- the whole answer (the final message, or the fallback to plain mrkdwn text);
- the part an interim edit renders: the first message's worth (SLACK_TEXT_LIMIT)
  when Slack takes only mrkdwn, and the 450 characters of a notification preview.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable

from bot.render.mrkdwn import to_mrkdwn
from bot.render.split import SLACK_TEXT_LIMIT

PREVIEW_CHARS = 450  # bot/slack/blocks.py renders PREVIEW * 3 characters for a preview

SECTION = """\
## Step {n}: set up the *service*

First read `config_{n}.py`, then the **deployment notes** at https://example.com/docs/step_{n}
and the [runbook](https://example.com/runbook?step={n}&lang=en "Runbook"). Ask <@U0123ABC> in
<#C0456DEF|ops> if anything is unclear; see also [the design][design] and the note[^n{n}].

1. Install the dependencies:
   - `pip install -e .` in the work tree
   - a ~~local~~ shared database, 2 * 3 = 6 < 10 & more
2. Run the checks:
   - [x] lint
   - [ ] type check
3. Deploy with the script below.

> **Warning:** the first deploy takes a while
and may need a retry.

```python
def deploy(step: int = {n}) -> bool:
    \"\"\"Return True when step {n} is live.\"\"\"
    return run(["deploy", f"--step={{step}}"]) == 0 and 2 ** step < 1 << 10
```

| Stage | Owner | Time (min) | Link |
|:------|:-----:|-----------:|------|
| build | **ci** | 4 | [logs](https://example.com/build/{n}) |
| test | qa | 12 | <b>manual</b> |
| ship | ops | 1 | n/a |

[^n{n}]: Step {n} assumes the previous steps went through.

"""
TAIL = "[design]: https://example.com/design\n"


def answer(chars: int) -> str:
    """Mixed Markdown of exactly `chars` characters."""
    sections: list[str] = []
    n = 0
    while sum(map(len, sections)) < chars:
        n += 1
        sections.append(SECTION.format(n=n))
    return (TAIL + "".join(sections))[:chars]


def timed(render: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and slowest of `runs` calls, in milliseconds."""
    render()  # warm up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        render()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chars", type=int, default=12_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    text = answer(args.chars)
    cases = [
        (f"whole answer ({len(text):,} chars)", text),
        (f"interim edit, mrkdwn ({SLACK_TEXT_LIMIT:,} chars)", text[:SLACK_TEXT_LIMIT]),
        (f"interim edit, preview ({PREVIEW_CHARS} chars)", text[:PREVIEW_CHARS]),
    ]
    print(f"{'to_mrkdwn':44} {'median ms':>10} {'max ms':>10}")
    for name, markdown in cases:
        median, slowest = timed(functools.partial(to_mrkdwn, markdown), args.runs)
        print(f"{name:44} {median:10.2f} {slowest:10.2f}")


if __name__ == "__main__":
    main()
