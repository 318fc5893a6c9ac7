"""Tokens spent per workspace, user, channel, model and UTC day: daily budgets and
`python -m bot usage`.

Revision ID: 0006a
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006a"
down_revision = "0006f"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "token_usage",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("answers", sa.Integer, nullable=False, server_default="0"),
        sa.Column("asks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("input_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.UniqueConstraint(
            "team_id", "day", "user_id", "channel_id", "model", name="uq_token_usage"
        ),
    )


def downgrade() -> None:
    op.drop_table("token_usage")
