"""sign-in throttling: wrong passwords in a row, the latest, and a lockout

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import registry.records.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("failed_sign_ins", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("last_failed_sign_in_at",
                                   registry.records.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("locked_at", registry.records.types.UTCDateTime(),
                                   nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("failed_sign_ins", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("locked_at")
        batch.drop_column("last_failed_sign_in_at")
        batch.drop_column("failed_sign_ins")
