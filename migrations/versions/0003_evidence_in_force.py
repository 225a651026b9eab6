"""audits and monitors in force or proposed; decisions that waive, acknowledge or settle a proposal

A drift monitor's `active` flag becomes its `status`: the active monitor is in force, the others
were superseded. A version's latest bias audit is taken as in force and older ones as superseded:
before this revision the gate read the latest audit and no other.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("scope", sa.JSON(), nullable=True))
    with op.batch_alter_table("bias_audits") as batch:
        batch.add_column(sa.Column("status", sa.String(length=12), nullable=False,
                                   server_default="in_force"))
    with op.batch_alter_table("drift_monitors") as batch:
        batch.add_column(sa.Column("status", sa.String(length=12), nullable=False,
                                   server_default="in_force"))
    op.execute("UPDATE drift_monitors SET status = CASE WHEN active THEN 'in_force' "
               "ELSE 'superseded' END")
    # The latest audit of each version was the one in force; older ones were superseded.
    op.execute("UPDATE bias_audits SET status = 'superseded' WHERE id NOT IN ("
               "SELECT MAX(id) FROM bias_audits GROUP BY model_version_id)")
    with op.batch_alter_table("drift_monitors") as batch:
        batch.drop_column("active")
        batch.alter_column("status", server_default=None)
    with op.batch_alter_table("bias_audits") as batch:
        batch.alter_column("status", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("drift_monitors") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
    op.execute("UPDATE drift_monitors SET active = (status = 'in_force')")
    with op.batch_alter_table("drift_monitors") as batch:
        batch.drop_column("status")
        batch.alter_column("active", server_default=None)
    with op.batch_alter_table("bias_audits") as batch:
        batch.drop_column("status")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("scope")
