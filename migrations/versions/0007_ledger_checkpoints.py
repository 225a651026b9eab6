"""signed ledger: checkpoints, public signing keys, and the signed head's columns

A ledger that exists is signed by `gatehouse db upgrade` once the schema is at head (a
migration has no key to sign with).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import registry.records.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", registry.records.types.UTCDateTime(), nullable=False),
        sa.Column("retired_at", registry.records.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", registry.records.types.UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_index(op.f("ix_ledger_checkpoints_seq"), "ledger_checkpoints", ["seq"])
    with op.batch_alter_table("ledger_head") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("seq_signature", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("checkpoint", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("checkpoint_seq", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("checkpoint_at", registry.records.types.UTCDateTime(),
                                   nullable=True))
    with op.batch_alter_table("ledger_head") as batch:
        batch.alter_column("checkpoint", server_default=None)
        batch.alter_column("checkpoint_seq", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("ledger_head") as batch:
        for column in ("checkpoint_at", "checkpoint_seq", "checkpoint", "seq_signature",
                       "signature", "key_id"):
            batch.drop_column(column)
    op.drop_index(op.f("ix_ledger_checkpoints_seq"), table_name="ledger_checkpoints")
    op.drop_table("ledger_checkpoints")
    op.drop_table("signing_keys")
