"""watch alerts: a rule watching how a version is used fired, until an officer acknowledges it

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import registry.records.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = registry.records.types.UTCDateTime
    op.create_table(
        "watch_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=24), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("window_start", moment(), nullable=False),
        sa.Column("window_end", moment(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", moment(), nullable=False),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", moment(), nullable=True),
        sa.Column("acknowledgement", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["acknowledged_by_id"], ["users.id"],
                                name=op.f("fk_watch_alerts_acknowledged_by_id_users")),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_versions.id"],
                                name=op.f("fk_watch_alerts_model_version_id_model_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_alerts")),
    )
    op.create_index(op.f("ix_watch_alerts_model_version_id"), "watch_alerts",
                    ["model_version_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_watch_alerts_model_version_id"), table_name="watch_alerts")
    op.drop_table("watch_alerts")
