"""The whole text of each answer with its turn, and live answers found by thread.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("answer_text", sa.Text, nullable=True))
    op.create_index(
        "ix_live_answers_thread", "live_answers", ["team_id", "channel_id", "thread_ts"]
    )


def downgrade() -> None:
    op.drop_index("ix_live_answers_thread", table_name="live_answers")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("answer_text")
