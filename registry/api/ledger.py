"""Reading and verifying the audit ledger."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import func, select

from ..governance.permissions import require
from ..platform.services import db
from ..records import LedgerEntry
from ..usecases import ledger as ledger_cases
from . import schemas as s
from .auth import current_actor, unit

blp = Blueprint(
    "ledger",
    __name__,
    url_prefix="/api/v1/ledger",
    description="The hash-chained ledger of every change and decision.",
)

LedgerPage = Schema.from_dict(
    {
        "items": fields.List(fields.Nested(s.LedgerEntryOut)),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
        "total": fields.Integer(),
    },
    name="LedgerPage",
)


class LedgerFilters(s.Page):
    subject_kind = fields.String()
    subject_id = fields.String()
    action = fields.String(metadata={"description": "e.g. read_inputs or download_data: who "
                                     "read people's data"})


@blp.route("")
class Entries(MethodView):
    @blp.arguments(LedgerFilters, location="query")
    @blp.response(200, LedgerPage)
    def get(self, filters: dict[str, Any]) -> Any:
        require(current_actor(), "read_ledger")
        query = select(LedgerEntry)
        for key in ("subject_kind", "subject_id", "action"):
            if key in filters:
                query = query.where(getattr(LedgerEntry, key) == filters[key])
        total = db().scalar(select(func.count()).select_from(query.subquery()))
        page, per_page = filters["page"], filters["per_page"]
        items = (
            db()
            .scalars(query.order_by(LedgerEntry.seq).offset((page - 1) * per_page).limit(per_page))
            .all()
        )
        return {"items": items, "page": page, "per_page": per_page, "total": total}


@blp.route("/verify")
class Verify(MethodView):
    @blp.response(200, s.VerificationOut)
    def get(self) -> Any:
        full = request.args.get("full", "").lower() in ("1", "true", "yes")  # else incremental
        return ledger_cases.verify(unit(), full=full).as_dict()
