"""agreements state, per permitted purpose, which stages they cover

Each agreement gains `stages`: every permitted purpose → the stages it covers, from
development (training and evaluating a model), use (scoring cases) and fairness_audit
(auditing fairness with special-category data).

The decision taken for agreements that exist already: before this, a permitted purpose meant
the data could be used to build a model and to score cases with it, so every listed purpose
gets ["development", "use"]. Only an agreement that shares special-category data under a
recorded Art. 9 condition gets "fairness_audit" as well: that condition is the basis the
special-category data was shared on, and no other agreement ever gave one. Officers should
review these defaults; the downgrade drops the column (and what was recorded in it).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_agreements = sa.table(
    "agreements",
    sa.column("id", sa.Integer()),
    sa.column("purposes", sa.JSON()),
    sa.column("special_category", sa.Boolean()),
    sa.column("art9_condition", sa.String()),
    sa.column("stages", sa.JSON()),
)


def upgrade() -> None:
    with op.batch_alter_table("agreements") as batch:
        batch.add_column(sa.Column("stages", sa.JSON(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(_agreements.c.id, _agreements.c.purposes,
                                  _agreements.c.special_category,
                                  _agreements.c.art9_condition)).all()
    for row in rows:
        purposes = row.purposes if isinstance(row.purposes, list) else json.loads(row.purposes)
        stages = ["development", "use"]
        if row.special_category and (row.art9_condition or "").strip():
            stages.append("fairness_audit")
        conn.execute(_agreements.update().where(_agreements.c.id == row.id)
                     .values(stages={p: list(stages) for p in purposes}))
    with op.batch_alter_table("agreements") as batch:
        batch.alter_column("stages", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("agreements") as batch:
        batch.drop_column("stages")
