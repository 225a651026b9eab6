"""names per organisation (agreements, datasets, DPIAs, models); each party's side of an
agreement suspended apart; jobs of an organisation; clients without one given the only one

Names and references were unique across the deployment; now each organisation's own, so two
councils may both register a model named "hmo-finder". Existing jobs take the organisation of
the version they worked on (else their creator's first); API clients left without an
organisation take the database's only one (with several, such a client is refused at sign-in
until an administrator recreates it in one).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

NAMED = {"agreements": "reference", "datasets": "name", "dpias": "reference", "models": "name"}


def upgrade() -> None:
    conn = op.get_bind()
    for table, column in NAMED.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_{column}", type_="unique")
            batch.create_unique_constraint(op.f(f"uq_{table}_organisation_id"),
                                           ["organisation_id", column])
    with op.batch_alter_table("agreements") as batch:
        for side in ("provider", "recipient"):
            batch.add_column(sa.Column(f"{side}_suspended", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    with op.batch_alter_table("agreements") as batch:
        for side in ("provider", "recipient"):
            batch.alter_column(f"{side}_suspended", existing_type=sa.Boolean(),
                               server_default=None)
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch.create_index(op.f("ix_jobs_organisation_id"), ["organisation_id"])
        batch.create_foreign_key(op.f("fk_jobs_organisation_id_organisations"),
                                 "organisations", ["organisation_id"], ["id"])
    conn.execute(sa.text(
        "UPDATE jobs SET organisation_id = (SELECT MIN(m.organisation_id) FROM memberships m "
        "WHERE m.user_id = jobs.created_by_id)"))
    orgs = conn.execute(sa.text("SELECT id FROM organisations ORDER BY id LIMIT 2")).all()
    if len(orgs) == 1:
        for table in ("jobs", "api_clients"):
            conn.execute(sa.text(f"UPDATE {table} SET organisation_id = :o "
                                 "WHERE organisation_id IS NULL"), {"o": orgs[0].id})


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("fk_jobs_organisation_id_organisations", type_="foreignkey")
        batch.drop_index("ix_jobs_organisation_id")
        batch.drop_column("organisation_id")
    with op.batch_alter_table("agreements") as batch:
        batch.drop_column("provider_suspended")
        batch.drop_column("recipient_suspended")
    for table, column in NAMED.items():  # refused if two organisations now share a name
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_organisation_id", type_="unique")
            batch.create_unique_constraint(op.f(f"uq_{table}_{column}"), [column])
