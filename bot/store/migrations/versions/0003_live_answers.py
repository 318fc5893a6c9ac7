"""Answers under way, kept so a restart, a deploy or another worker can finish them.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "live_answers",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=False),
        sa.Column("turn", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("lease_until", _WHEN, nullable=False),
        sa.Column("response_id", sa.String(128), nullable=True),
        sa.Column("sequence", sa.Integer, nullable=False, server_default="-1"),
        sa.Column("progress", sa.Text, nullable=False, server_default="{}"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("accepted_at", _WHEN, nullable=False),
    )
    op.create_index("ix_live_answers_lease_until", "live_answers", ["lease_until"])


def downgrade() -> None:
    op.drop_table("live_answers")
