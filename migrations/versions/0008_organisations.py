"""organisations: memberships (roles per organisation), organisation slugs, each decision and
ledger entry in an organisation, the parties of an agreement as organisations

Existing data is one organisation's: each user's organisation and roles become a membership;
decisions, ledger entries and API clients take their subject's organisation, and where the
database holds exactly one organisation, whatever is left takes that one. A database with no
organisation needs none: its users' roles become deployment-wide until one is created.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

import registry.records.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# subject kind → the table whose rows carry its organisation
OWNED = {"agreement": "agreements", "dataset": "datasets", "dpia": "dpias", "model": "models",
         "model_version": "model_versions", "api_client": "api_clients"}


def _roles(value: Any) -> list[str]:
    return list(json.loads(value) if isinstance(value, str) else value or [])


def _add_organisation(table: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch.create_index(op.f(f"ix_{table}_organisation_id"), ["organisation_id"])
        batch.create_foreign_key(op.f(f"fk_{table}_organisation_id_organisations"),
                                 "organisations", ["organisation_id"], ["id"])


def upgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("created_at", registry.records.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_memberships_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_memberships_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("user_id", "organisation_id", name=op.f("uq_memberships_user_id")),
    )
    op.create_index(op.f("ix_memberships_user_id"), "memberships", ["user_id"])
    op.create_index(op.f("ix_memberships_organisation_id"), "memberships", ["organisation_id"])

    orgs = conn.execute(sa.text("SELECT id, name FROM organisations ORDER BY id")).all()
    only = orgs[0].id if len(orgs) == 1 else None
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("slug", sa.String(length=80), nullable=True))
    used: set[str] = set()
    for org in orgs:
        slug = "-".join(re.findall(r"[a-z0-9]+", org.name.lower()))[:70] or "organisation"
        slug = slug if slug not in used and len(slug) > 1 else f"{slug}-{org.id}"
        used.add(slug)
        conn.execute(sa.text("UPDATE organisations SET slug = :s WHERE id = :id"),
                     {"s": slug, "id": org.id})
    with op.batch_alter_table("organisations") as batch:
        batch.alter_column("slug", existing_type=sa.String(length=80), nullable=False)
        batch.create_unique_constraint(op.f("uq_organisations_slug"), ["slug"])

    conn.execute(sa.text(
        "INSERT INTO memberships (user_id, organisation_id, roles, created_at) SELECT id, "
        "COALESCE(organisation_id, CAST(:only AS INTEGER)), roles, created_at FROM users "
        "ORDER BY id"), {"only": only})
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_organisation_id_organisations", type_="foreignkey")
        batch.drop_column("organisation_id")
        batch.drop_column("roles")

    with op.batch_alter_table("agreements") as batch:
        for party in ("provider", "recipient"):
            batch.add_column(sa.Column(f"{party}_organisation_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(op.f(f"fk_agreements_{party}_organisation_id_organisations"),
                                     "organisations", [f"{party}_organisation_id"], ["id"])
    conn.execute(sa.text("UPDATE agreements SET recipient_organisation_id = organisation_id"))

    _add_organisation("decisions")
    _add_organisation("ledger_entries")
    for kind, table in OWNED.items():
        conn.execute(sa.text(
            f"UPDATE decisions SET organisation_id = (SELECT t.organisation_id FROM {table} t "
            "WHERE t.id = decisions.subject_id) WHERE subject_kind = :kind"), {"kind": kind})
        by_name = " OR t.name = ledger_entries.subject_id" if table == "models" else ""
        conn.execute(sa.text(
            f"UPDATE ledger_entries SET organisation_id = (SELECT MIN(t.organisation_id) FROM "
            f"{table} t WHERE CAST(t.id AS VARCHAR(60)) = ledger_entries.subject_id{by_name}) "
            "WHERE subject_kind = :kind"), {"kind": kind})
    conn.execute(sa.text(
        "UPDATE ledger_entries SET organisation_id = (SELECT MIN(m.organisation_id) FROM "
        "memberships m WHERE CAST(m.user_id AS VARCHAR(60)) = ledger_entries.subject_id) "
        "WHERE subject_kind = 'user'"))
    conn.execute(sa.text(
        "UPDATE ledger_entries SET organisation_id = (SELECT o.id FROM organisations o WHERE "
        "CAST(o.id AS VARCHAR(60)) = ledger_entries.subject_id) "
        "WHERE subject_kind = 'organisation'"))
    if only is not None:  # one organisation: everything is its
        for table in ("decisions", "ledger_entries", "api_clients"):
            conn.execute(sa.text(f"UPDATE {table} SET organisation_id = :o "
                                 "WHERE organisation_id IS NULL"), {"o": only})


def downgrade() -> None:
    conn = op.get_bind()
    for table in ("ledger_entries", "decisions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_organisation_id_organisations",
                                  type_="foreignkey")
            batch.drop_index(f"ix_{table}_organisation_id")
            batch.drop_column("organisation_id")
    with op.batch_alter_table("agreements") as batch:
        for party in ("provider", "recipient"):
            batch.drop_constraint(f"fk_agreements_{party}_organisation_id_organisations",
                                  type_="foreignkey")
            batch.drop_column(f"{party}_organisation_id")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("roles", sa.JSON(), nullable=False, server_default="[]"))
        batch.create_foreign_key("fk_users_organisation_id_organisations", "organisations",
                                 ["organisation_id"], ["id"])
    held: dict[int, tuple[int | None, set[str]]] = {}
    for m in conn.execute(sa.text(
            "SELECT user_id, organisation_id, roles FROM memberships ORDER BY id")):
        org, roles = held.get(m.user_id, (m.organisation_id, set()))
        held[m.user_id] = (org if org is not None else m.organisation_id, roles | set(_roles(m.roles)))
    for user_id, (org, roles) in held.items():
        conn.execute(sa.text("UPDATE users SET organisation_id = :o, roles = :r WHERE id = :id"),
                     {"o": org, "r": json.dumps(sorted(roles)), "id": user_id})
    with op.batch_alter_table("users") as batch:
        batch.alter_column("roles", existing_type=sa.JSON(), server_default=None)
    op.drop_index(op.f("ix_memberships_organisation_id"), table_name="memberships")
    op.drop_index(op.f("ix_memberships_user_id"), table_name="memberships")
    op.drop_table("memberships")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_constraint("uq_organisations_slug", type_="unique")
        batch.drop_column("slug")
