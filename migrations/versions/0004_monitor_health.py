"""drift checks that could not run, and alerts awaiting acknowledgement

A drift check now records whether it ran (`status` "ok") or could not run ("failed", with its
`error`): a monitor whose latest check failed is failing, and its gate requirement unmet. Checks
recorded before this revision all ran. Open alerts need no column: they are the drifted checks
of an alerting monitor without an officer's acknowledgement (a decision).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drift_checks") as batch:
        batch.add_column(sa.Column("status", sa.String(length=8), nullable=False,
                                   server_default="ok"))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
    with op.batch_alter_table("drift_checks") as batch:
        batch.alter_column("status", server_default=None)


def downgrade() -> None:
    op.execute("DELETE FROM drift_checks WHERE status = 'failed'")
    with op.batch_alter_table("drift_checks") as batch:
        batch.drop_column("error")
        batch.drop_column("status")
