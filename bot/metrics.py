"""The numbers to watch, in Prometheus text format at `GET /metrics`.

Every metric is defined here; each is recorded where the thing happens (the
conversation core through its Recorder, the Slack client through
`bot.slack.call_counter`, the HTTP edge through `bot.slack.refusals`). Each Bot
owns one `Metrics` with its own registry, so several bots in one process (tests)
keep their numbers apart.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from bot.conversation.recorder import OUTCOMES

CONTENT_TYPE = CONTENT_TYPE_LATEST
FIRST_TEXT_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)
ANSWER_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
# Label values come from outside (the API's error codes, Slack's): past this many
# different ones a label reads "other", so a misbehaving proxy cannot grow the series.
MOST_LABEL_VALUES = 100
LONGEST_LABEL = 64


class Labels:
    """Bounds one label's values: at most `most` different ones, each at most 64 characters."""

    def __init__(self, most: int = MOST_LABEL_VALUES) -> None:
        self._most = most
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        value = (value or "unknown")[:LONGEST_LABEL]
        if value in self._seen:
            return value
        if len(self._seen) >= self._most:
            return "other"
        self._seen.add(value)
        return value


class Metrics:
    """The bot's metrics in a registry of their own; a Recorder for the conversation core."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # CPU, memory, open files of this process
        self.answers = Counter(
            "bot_answers",
            "Answers by how they ended: completed, incomplete, failed, stopped, error, refused.",
            ["outcome"],
            registry=registry,
        )
        for outcome in OUTCOMES:
            self.answers.labels(outcome)  # shown at 0 from the start
        self.first_text_seconds = Histogram(
            "bot_first_text_seconds",
            "Seconds from accepting a user's message to the first text of its answer going out.",
            buckets=FIRST_TEXT_BUCKETS,
            registry=registry,
        )
        self.answer_seconds = Histogram(
            "bot_answer_seconds",
            "Seconds from accepting a user's message to its answer's final text.",
            buckets=ANSWER_BUCKETS,
            registry=registry,
        )
        self.model_errors = Counter(
            "bot_model_errors",
            "Failed calls to the model and failed responses, by error code.",
            ["code"],
            registry=registry,
        )
        self.slack_calls = Counter(
            "bot_slack_calls",
            'Slack Web API calls by method and status ("ok", Slack\'s error code, '
            '"http_<status>", or the connection error).',
            ["method", "status"],
            registry=registry,
        )
        self.live_answers = Gauge(
            "bot_live_answers",
            "Answers streaming from the model now, in this process.",
            registry=registry,
        )
        self.rejected_requests = Counter(
            "bot_rejected_requests",
            "Requests to /slack/events refused before bolt read them, by reason "
            "(bad_signature, stale_timestamp, unsigned).",
            ["reason"],
            registry=registry,
        )
        self._codes = Labels()
        self._methods = Labels()
        self._statuses = Labels()

    # The conversation core's Recorder ---------------------------------------------

    def answered(self, outcome: str, seconds: float | None) -> None:
        self.answers.labels(outcome if outcome in OUTCOMES else "error").inc()
        if seconds is not None and outcome != "refused":
            self.answer_seconds.observe(seconds)

    def first_text(self, seconds: float) -> None:
        self.first_text_seconds.observe(seconds)

    def model_error(self, code: str) -> None:
        self.model_errors.labels(self._codes(code)).inc()

    def writing(self, change: int) -> None:
        self.live_answers.inc(change)

    # The edges --------------------------------------------------------------------

    def slack_call(self, method: str, status: str) -> None:
        self.slack_calls.labels(self._methods(method), self._statuses(status)).inc()

    def rejected(self, reason: str) -> None:
        self.rejected_requests.labels(reason).inc()

    def exposition(self) -> bytes:
        """Everything, in Prometheus text format (CONTENT_TYPE)."""
        return generate_latest(self.registry)
