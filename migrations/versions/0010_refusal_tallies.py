"""refused score calls tallied between ledger entries; ledger subjects as long as model names

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import registry.records.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refusal_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=400), nullable=False),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("window_started_at", registry.records.types.UTCDateTime(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("first_pending_at", registry.records.types.UTCDateTime(), nullable=True),
        sa.Column("last_pending_at", registry.records.types.UTCDateTime(), nullable=True),
        sa.Column("purpose", sa.String(length=80), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refusal_tallies")),
        sa.UniqueConstraint("actor", "model", "reason", name=op.f("uq_refusal_tallies_actor")),
    )
    with op.batch_alter_table("ledger_entries") as batch:
        batch.alter_column("subject_id", existing_type=sa.String(length=60),
                           type_=sa.String(length=80), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.alter_column("subject_id", existing_type=sa.String(length=80),
                           type_=sa.String(length=60), existing_nullable=False)
    op.drop_table("refusal_tallies")
