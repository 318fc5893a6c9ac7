"""Threads with their chain heads, turns, and seen messages.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "threads",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=False),
        sa.Column("chain_head", sa.String(128), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.UniqueConstraint("team_id", "channel_id", "thread_ts", name="uq_threads_place"),
    )
    op.create_table(
        "turns",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "thread_id", _ID, sa.ForeignKey("threads.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=False),
        sa.Column("response_id", sa.String(128), nullable=True),
        sa.Column("previous_response_id", sa.String(128), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("error_code", sa.String(128), nullable=True),
        sa.Column("input_tokens", sa.Integer, nullable=True),
        sa.Column("output_tokens", sa.Integer, nullable=True),
        sa.Column("total_tokens", sa.Integer, nullable=True),
        sa.Column("started_at", _WHEN, nullable=False),
        sa.Column("finished_at", _WHEN, nullable=False),
    )
    op.create_index("ix_turns_thread_id", "turns", ["thread_id"])
    op.create_table(
        "seen_messages",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("seen_at", _WHEN, nullable=False),
    )
    op.create_index("ix_seen_messages_seen_at", "seen_messages", ["seen_at"])


def downgrade() -> None:
    op.drop_table("seen_messages")
    op.drop_index("ix_turns_thread_id", "turns")
    op.drop_table("turns")
    op.drop_table("threads")
