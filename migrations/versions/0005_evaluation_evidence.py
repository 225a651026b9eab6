"""evaluation data kept apart from training data; the explanation background chosen at upload

A version records the explanation background it was given at upload and the comparison of its
evaluation data with its training data. Versions registered before this revision get the
background that was used for them implicitly, now written down: their first evaluation dataset
(else their first training dataset), 100 rows, seed 0. Their overlap is computed at their next
self-check.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("background", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("evaluation_overlap", sa.JSON(), nullable=True))
    links = sa.table("version_datasets", sa.column("version_id", sa.Integer),
                     sa.column("dataset_id", sa.Integer), sa.column("role", sa.String))
    versions = sa.table("model_versions", sa.column("id", sa.Integer),
                        sa.column("background", sa.JSON))
    conn = op.get_bind()
    chosen: dict[int, int] = {}
    # evaluation rows first, so that a version's evaluation dataset wins over its training one
    for version_id, dataset_id, _ in conn.execute(
            sa.select(links.c.version_id, links.c.dataset_id, links.c.role)
            .order_by(links.c.role.desc(), links.c.dataset_id)):
        chosen.setdefault(version_id, dataset_id)
    for version_id, dataset_id in chosen.items():
        conn.execute(versions.update().where(versions.c.id == version_id).values(
            background={"dataset_id": dataset_id, "rows": 100, "seed": 0}))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("evaluation_overlap")
        batch.drop_column("background")
