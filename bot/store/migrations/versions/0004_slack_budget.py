"""The ledger of recent Slack calls and of each worker's live answers per workspace,
shared by every worker's Slack rate budget.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "slack_calls",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_slack_calls_key", "slack_calls", ["key"])
    op.create_index("ix_slack_calls_at", "slack_calls", ["at"])
    op.create_table(
        "slack_workers",
        sa.Column("worker", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("live", sa.Integer, nullable=False),
        sa.Column("seen_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_workers")
    op.drop_table("slack_calls")
