"""receipts chained and verifiable, sign-out server-side, encryption at rest

Receipts get a short code for the decision letter and their place in a Merkle batch; batches
are listed in `receipt_batches`. Users get a session generation, bumped at sign-out. Inputs and
explanations are encrypted by the application (their JSON columns are unchanged): rows stored
before are read as they are.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import registry.records.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receipt_batches",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", registry.records.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_receipt_batches")),
    )
    with op.batch_alter_table("score_receipts") as batch:
        batch.add_column(sa.Column("code", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("batch", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("batch_index", sa.Integer(), nullable=True))
        batch.create_unique_constraint(op.f("uq_score_receipts_code"), ["code"])
        batch.create_index(op.f("ix_score_receipts_batch"), ["batch"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False,
                                   server_default="0"))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("session_generation", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
    with op.batch_alter_table("score_receipts") as batch:
        batch.drop_index(op.f("ix_score_receipts_batch"))
        batch.drop_constraint(op.f("uq_score_receipts_code"), type_="unique")
        for column in ("batch_index", "batch", "code"):
            batch.drop_column(column)
    op.drop_table("receipt_batches")
