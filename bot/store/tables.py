"""The schema, as SQLAlchemy Core tables. Changes go through a new migration."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

ID = BigInteger().with_variant(Integer, "sqlite")

threads = Table(
    "threads",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("thread_ts", String(32), nullable=False),
    # The id of the last response the API stored for this thread: the next turn chains on it.
    Column("chain_head", String(128), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("team_id", "channel_id", "thread_ts", name="uq_threads_place"),
)

turns = Table(
    "turns",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column(
        "thread_id", ID, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("user_id", String(32), nullable=False),
    Column("message_ts", String(32), nullable=False),
    Column("response_id", String(128), nullable=True),
    Column("previous_response_id", String(128), nullable=True),
    Column("status", String(32), nullable=False),  # completed, incomplete, failed, stopped, error
    Column("error_code", String(128), nullable=True),
    Column("input_tokens", Integer, nullable=True),
    Column("output_tokens", Integer, nullable=True),
    Column("total_tokens", Integer, nullable=True),
    Column("reasoning_tokens", Integer, nullable=True),  # of output_tokens: the thinking
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    # The answer's whole text: Slack may give back only a preview of it when a chain is
    # rebuilt from the thread. Cleared after a while (`Store.forget_heard`).
    Column("answer_text", Text, nullable=True),
)

# One row per user message the bot took on, so a redelivered event (or the same
# message arriving as two event types) is answered once, across workers.
seen_messages = Table(
    "seen_messages",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
)

# A 👍 or 👎 on an answer; a second press by the same person changes the vote.
feedback = Table(
    "feedback",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("response_id", String(128), nullable=False),
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("message_ts", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("vote", String(8), nullable=False),  # "up" or "down"
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("response_id", "user_id", name="uq_feedback_once_per_user"),
)

# Threads of the Assistant panel, with the channel the user is looking at.
assistant_threads = Table(
    "assistant_threads",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("team_id", String(32), nullable=False, server_default=""),
    Column("channel_id", String(32), nullable=False),
    Column("thread_ts", String(32), nullable=False),
    Column("viewing_channel_id", String(32), nullable=True),
    Column("titled", Boolean, nullable=False, server_default=false()),
    Column("started_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("team_id", "channel_id", "thread_ts", name="uq_assistant_threads_place"),
)

# What people wrote in a thread the bot takes part in, between two of its turns;
# sent with the next turn, then dropped.
heard_messages = Table(
    "heard_messages",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("thread_id", ID, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("message_ts", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    # The files attached to the message: a JSON list of references (never their bytes).
    Column("files", Text, nullable=True),
    UniqueConstraint("thread_id", "message_ts", name="uq_heard_once"),
)

# An answer the bot has taken on and not yet finished in Slack: recorded when the
# message is accepted, so neither a deploy nor a crash can drop it. The worker that
# holds the lease renews it; a row whose lease ran out is taken over by any worker,
# which resumes the answer (or finishes it as interrupted). Deleted once delivered.
live_answers = Table(
    "live_answers",
    metadata,
    Column("key", String(200), primary_key=True),  # the user's message, as seen_messages
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("thread_ts", String(32), nullable=False),
    Column("turn", Text, nullable=False),  # JSON: the turn and how its answer is delivered
    Column("state", String(16), nullable=False),  # waiting, answering, delivering
    Column("owner", String(64), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=False, index=True),
    Column("response_id", String(128), nullable=True),
    Column("sequence", Integer, nullable=False, server_default="-1"),
    # JSON: the answer so far and where it is shown; for `delivering`, the final text.
    Column("progress", Text, nullable=False, server_default="{}"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    # A thread with an accepted turn is one the bot takes part in (replies are heard).
    Index("ix_live_answers_thread", "team_id", "channel_id", "thread_ts"),
)

# Recent Slack calls of answers, per workspace and method (`team:method[:channel]`):
# the ledger every worker spends the workspace's Slack rate budget from. Rows older
# than a minute are dropped as new ones come.
slack_calls = Table(
    "slack_calls",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, index=True),
    Column("at", Float, nullable=False, index=True),  # seconds since the epoch
)

# How many answers each worker has live in each workspace, as of `seen_at` (seconds
# since the epoch): interim Slack edits leave a place in the budget for each one's final.
slack_workers = Table(
    "slack_workers",
    metadata,
    Column("worker", String(64), primary_key=True),
    Column("team_id", String(32), primary_key=True),
    Column("live", Integer, nullable=False),
    Column("seen_at", Float, nullable=False),
)

# Per-channel settings over the environment's defaults, one row per value set: the
# workspace's own defaults under channel "", a channel's under its id. Values are kept
# as the operator typed them and checked when set (`bot/conversation/channel_settings.py`).
channel_settings = Table(
    "channel_settings",
    metadata,
    Column("team_id", String(32), primary_key=True),
    Column("channel_id", String(32), primary_key=True),  # "": the workspace's defaults
    Column("name", String(32), primary_key=True),
    Column("value", Text, nullable=False),
    Column("changed_by", String(64), nullable=False),  # a user id, or "operator"
    Column("changed_at", DateTime(timezone=True), nullable=False),
)


# Tokens spent per workspace, user, channel, model and UTC day, counted from the `usage`
# of every model response (answers, /ask, every round of an answer): daily budgets are
# checked against it, and `python -m bot usage` reports it. One atomic upsert per response.
token_usage = Table(
    "token_usage",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("team_id", String(32), nullable=False),
    Column("day", Date, nullable=False),  # UTC
    Column("user_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("model", String(128), nullable=False),
    Column("answers", Integer, nullable=False, server_default="0"),  # turns answered
    Column("asks", Integer, nullable=False, server_default="0"),  # of which /ask
    Column("input_tokens", BigInteger, nullable=False, server_default="0"),
    Column("output_tokens", BigInteger, nullable=False, server_default="0"),
    Column("total_tokens", BigInteger, nullable=False, server_default="0"),
    # Its first columns serve the budgets' look-ups: a workspace's day, a user's day.
    UniqueConstraint("team_id", "day", "user_id", "channel_id", "model", name="uq_token_usage"),
)


# Remote MCP tool calls waiting for the asker's Approve / Deny, one row per response that
# asked; kept until decided or expired (then deleted after a day).
approvals = Table(
    "approvals",
    metadata,
    Column("key", String(128), primary_key=True),  # the id of the response that asked
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("thread_ts", String(32), nullable=False),
    Column("asker", String(32), nullable=False),
    Column("state", String(16), nullable=False),  # pending, approved, denied, expired
    # JSON: the turn, how its answer is delivered, the requests, rounds so far, outputs
    Column("about", Text, nullable=False),
    Column("place", Text, nullable=False, server_default="{}"),  # JSON: the prompt's ts
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)


# The app's installation in each workspace (or, for an Enterprise Grid org-wide
# install, in the org: `team_id` is ""), made through the OAuth flow: the bot token
# and how to renew it, as slack_sdk's `Installation` holds them. One row per
# workspace or org; installing again replaces it.
installations = Table(
    "installations",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("enterprise_id", String(32), nullable=False),  # "" outside Enterprise Grid
    Column("team_id", String(32), nullable=False),  # "" for an org-wide install
    Column("is_enterprise_install", Boolean, nullable=False, server_default=false()),
    Column("installation", Text, nullable=False),  # JSON: slack_sdk's Installation.to_dict()
    Column("installed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("enterprise_id", "team_id", name="uq_installations_place"),
)

# OAuth `state` values handed out by GET /slack/install, each good once until it expires.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)
