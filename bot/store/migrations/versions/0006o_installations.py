"""Installations made through OAuth, the OAuth states handed out, and Assistant panel
threads kept apart by workspace.

Revision ID: 0006o
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006o"
down_revision = "0006p"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "installations",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("is_enterprise_install", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("installation", sa.Text, nullable=False),
        sa.Column("installed_at", _WHEN, nullable=False),
        sa.UniqueConstraint("enterprise_id", "team_id", name="uq_installations_place"),
    )
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.String(64), primary_key=True),
        sa.Column("expires_at", _WHEN, nullable=False),
    )
    op.create_index("ix_oauth_states_expires_at", "oauth_states", ["expires_at"])
    # Threads of two workspaces may share a channel id and ts: the workspace is part
    # of the place. Rows from before belong to the one workspace served then ("").
    with op.batch_alter_table("assistant_threads") as batch:
        batch.add_column(sa.Column("team_id", sa.String(32), nullable=False, server_default=""))
        batch.drop_constraint("uq_assistant_threads_place", type_="unique")
        batch.create_unique_constraint(
            "uq_assistant_threads_place", ["team_id", "channel_id", "thread_ts"]
        )


def downgrade() -> None:
    with op.batch_alter_table("assistant_threads") as batch:
        batch.drop_constraint("uq_assistant_threads_place", type_="unique")
        batch.create_unique_constraint("uq_assistant_threads_place", ["channel_id", "thread_ts"])
        batch.drop_column("team_id")
    op.drop_index("ix_oauth_states_expires_at", table_name="oauth_states")
    op.drop_table("oauth_states")
    op.drop_table("installations")
