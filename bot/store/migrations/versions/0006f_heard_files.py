"""The files attached to a heard message (references as JSON, never their bytes).

Revision ID: 0006f
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006f"
down_revision = "0006c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("heard_messages") as batch:
        batch.add_column(sa.Column("files", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("heard_messages") as batch:
        batch.drop_column("files")
