"""The routes every governed kind shares, written once: create, list, read, edit, submit,
decide, gate and decision history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import Select, func, select

from ..governance import order, registration
from ..governance.permissions import require
from ..records import Decision, Governed
from ..usecases import decisions, records
from ..usecases.inputs import DecisionIn
from . import schemas as s
from .auth import current_actor, unit


def _envelope(item: type[Schema]) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "total": fields.Integer(),
        },
        name=f"{item.__name__}Page",
    )


def by_id(kind: str, plural: str, description: str, schema_in: type[Schema],
          schema_out: type[Schema]) -> Blueprint:
    """The blueprint of a kind addressed by integer id under /api/v1/<plural>."""
    blp = Blueprint(plural, __name__, url_prefix=f"/api/v1/{plural}", description=description)
    governed_routes(blp, kind, "/<int:record_id>", lambda record_id: record_id, schema_in,
                    schema_out)
    return blp


def governed_routes(
    blp: Blueprint,
    kind: str,
    item_url: str,
    key: Callable[..., Any],
    schema_in: type[Schema],
    schema_out: type[Schema],
    list_query: Callable[..., Select[Any]] | None = None,
    *,
    creates: bool = True,
) -> None:
    """Register the shared routes on `blp`; `key` turns the item URL's arguments into a key,
    `list_query` the collection URL's into the records listed (by default every one). Without
    `creates`, the kind is created by a route of its own (a version, from its artefact)."""
    cls = registration.KINDS[kind]
    collection = item_url.rsplit("/", 1)[0]

    def load(**kwargs: Any) -> Governed:
        return records.find(unit(), kind, key(**kwargs))

    if creates:
        @blp.route(collection, methods=["POST"])
        @blp.arguments(schema_in)
        @blp.response(201, schema_out)
        def create(data: dict[str, Any]) -> Any:
            return records.create(unit(), kind, data)

    @blp.route(collection, methods=["GET"])
    @blp.arguments(s.ListFilters, location="query")
    @blp.response(200, _envelope(schema_out))
    def listing(filters: dict[str, Any], **kwargs: Any) -> Any:
        require(current_actor(), "read")
        session = unit().session
        query = list_query(**kwargs) if list_query else select(cls)
        if "state" in filters:
            query = query.where(cls.state == filters["state"])
        if "owner" in filters:
            query = query.where(cls.owner_id == filters["owner"])
        if "organisation" in filters:
            query = query.where(cls.organisation_id == filters["organisation"])
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        page, per_page = filters["page"], filters["per_page"]
        items = session.scalars(
            query.order_by(cls.id).offset((page - 1) * per_page).limit(per_page)).all()
        return {"items": items, "page": page, "per_page": per_page, "total": total}

    @blp.route(item_url)
    class Item(MethodView):
        @blp.response(200, schema_out)
        def get(self, **kwargs: Any) -> Any:
            return load(**kwargs)

        @blp.arguments(schema_in(partial=True))
        @blp.response(200, schema_out)
        def patch(self, data: dict[str, Any], **kwargs: Any) -> Any:
            return records.edit(unit(), load(**kwargs), data)

    @blp.route(f"{item_url}/submit", methods=["POST"])
    @blp.response(200, schema_out)
    def submit(**kwargs: Any) -> Any:
        return records.submit(unit(), load(**kwargs))

    @blp.route(f"{item_url}/gate", methods=["GET"])
    @blp.response(200, s.GateOut)
    def gate(**kwargs: Any) -> Any:
        u = unit()
        return order.gate(u.session, load(**kwargs), u.policy, u.now).as_dict()

    @blp.route(f"{item_url}/decisions")
    class Decisions(MethodView):
        @blp.response(200, s.DecisionOut(many=True))
        def get(self, **kwargs: Any) -> Any:
            record = load(**kwargs)
            return unit().session.scalars(
                select(Decision)
                .where(Decision.subject_kind == kind, Decision.subject_id == record.id)
                .order_by(Decision.id)
            ).all()

        @blp.arguments(DecisionIn)
        @blp.response(201, s.DecisionOut)
        def post(self, data: dict[str, Any], **kwargs: Any) -> Any:
            return decisions.decide(unit(), load(**kwargs), **data)
