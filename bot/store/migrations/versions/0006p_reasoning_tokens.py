"""Reasoning tokens kept with each turn's usage.

Revision ID: 0006p
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006p"
down_revision = "0006t"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("reasoning_tokens", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("reasoning_tokens")
