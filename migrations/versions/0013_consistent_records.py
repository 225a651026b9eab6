"""one name per concept (decisions.approved_until); DPIA sign-offs by user; outcome vocabularies
and the history of outcome reports

Revision ID: 0013
Revises: 0012

DPIA sign-offs were free text. Each becomes the id of the user who signed: a text equal to a
user's name or e-mail address (ignoring case and spaces) is kept as that user; any other text
is dropped, so the DPIA's sign-off step reads incomplete until a governance officer or DPO of
its organisation signs it again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import registry.records.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_SIGNOFFS = ("measures_approved_by", "residual_risk_approved_by")


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.alter_column("valid_until", new_column_name="approved_until",
                           existing_type=sa.Date(), existing_nullable=True)
    with op.batch_alter_table("dpias") as batch:
        for name in _SIGNOFFS:
            batch.add_column(sa.Column(f"{name}_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(op.f(f"fk_dpias_{name}_id_users"), "users",
                                     [f"{name}_id"], ["id"])
    bind = op.get_bind()
    users = {}
    for uid, name, email in bind.execute(sa.text("SELECT id, name, email FROM users")):
        for text in (name, email):
            if text:
                users.setdefault("".join(text.split()).casefold(), uid)
    for row in bind.execute(sa.text(f"SELECT id, {', '.join(_SIGNOFFS)} FROM dpias")).all():
        for i, name in enumerate(_SIGNOFFS, start=1):
            uid = users.get("".join((row[i] or "").split()).casefold())
            if uid is not None:
                bind.execute(sa.text(f"UPDATE dpias SET {name}_id = :u WHERE id = :d"),
                             {"u": uid, "d": row[0]})
    with op.batch_alter_table("dpias") as batch:
        for name in _SIGNOFFS:
            batch.drop_column(name)
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("outcome_vocabulary", sa.JSON(), nullable=True))
    op.create_table(
        "outcome_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.String(length=36), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("overrode", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("created_at", registry.records.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["receipt_id"], ["score_receipts.id"],
                                name=op.f("fk_outcome_reports_receipt_id_score_receipts")),
        sa.ForeignKeyConstraint(["client_id"], ["api_clients.id"],
                                name=op.f("fk_outcome_reports_client_id_api_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_reports")),
    )
    op.create_index(op.f("ix_outcome_reports_receipt_id"), "outcome_reports", ["receipt_id"])
    # the reports made so far, as the first of each receipt's history
    op.execute("INSERT INTO outcome_reports (receipt_id, outcome, overrode, reason, client_id, "
               "created_at) SELECT id, outcome, COALESCE(overrode, FALSE), outcome_reason, "
               "client_id, outcome_at FROM score_receipts WHERE outcome IS NOT NULL "
               "AND outcome_at IS NOT NULL")


def downgrade() -> None:
    op.drop_index(op.f("ix_outcome_reports_receipt_id"), table_name="outcome_reports")
    op.drop_table("outcome_reports")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("outcome_vocabulary")
    with op.batch_alter_table("dpias") as batch:
        for name in _SIGNOFFS:
            batch.add_column(sa.Column(name, sa.String(length=200), nullable=True))
    op.execute("UPDATE dpias SET "
               + ", ".join(f"{n} = (SELECT name FROM users WHERE users.id = dpias.{n}_id)"
                           for n in _SIGNOFFS))
    with op.batch_alter_table("dpias") as batch:
        for name in _SIGNOFFS:
            batch.drop_constraint(op.f(f"fk_dpias_{name}_id_users"), type_="foreignkey")
            batch.drop_column(f"{name}_id")
    with op.batch_alter_table("decisions") as batch:
        batch.alter_column("approved_until", new_column_name="valid_until",
                           existing_type=sa.Date(), existing_nullable=True)
