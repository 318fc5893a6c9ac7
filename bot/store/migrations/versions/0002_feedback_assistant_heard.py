"""Feedback on answers, Assistant panel threads, and messages heard between turns.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("response_id", sa.String(128), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("vote", sa.String(8), nullable=False),
        sa.Column("at", _WHEN, nullable=False),
        sa.UniqueConstraint("response_id", "user_id", name="uq_feedback_once_per_user"),
    )
    op.create_table(
        "assistant_threads",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=False),
        sa.Column("viewing_channel_id", sa.String(32), nullable=True),
        sa.Column("titled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("started_at", _WHEN, nullable=False),
        sa.UniqueConstraint("channel_id", "thread_ts", name="uq_assistant_threads_place"),
    )
    op.create_table(
        "heard_messages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "thread_id", _ID, sa.ForeignKey("threads.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", _WHEN, nullable=False),
        sa.UniqueConstraint("thread_id", "message_ts", name="uq_heard_once"),
    )


def downgrade() -> None:
    op.drop_table("heard_messages")
    op.drop_table("assistant_threads")
    op.drop_table("feedback")
