"""The routes every governed kind shares: create, list, read, update, submit, decide, gate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import func, select

from ..governance import lifecycle, order, registration, upstream
from ..governance.chain import servability, usable
from ..governance.permissions import require
from ..platform.services import db, services
from ..records import Decision
from . import current_actor
from . import schemas as s


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


def governed_routes(
    blp: Blueprint,
    kind: str,
    item_url: str,
    key: Callable[..., Any],
    schema_in: type[Schema],
    schema_out: type[Schema],
    list_query: Callable[..., Any] | None = None,
) -> None:
    """Register the shared routes on `blp`; `key` turns the item URL's arguments into a key."""
    cls = registration.KINDS[kind]
    page_schema = _envelope(schema_out)

    def load(**kwargs: Any) -> Any:
        require(current_actor(), "read")
        return registration.get(db(), kind, key(**kwargs))

    @blp.route(item_url)
    class Item(MethodView):
        @blp.response(200, schema_out)
        def get(self, **kwargs: Any) -> Any:
            return load(**kwargs)

        @blp.arguments(schema_in(partial=True))
        @blp.response(200, schema_out)
        def patch(self, data: dict[str, Any], **kwargs: Any) -> Any:
            record = registration.update(db(), current_actor(), load(**kwargs), data, now())
            db().commit()
            return record

    @blp.route(f"{item_url}/submit", methods=["POST"])
    @blp.response(200, schema_out)
    def submit(**kwargs: Any) -> Any:
        record = registration.submit(db(), current_actor(), load(**kwargs), now())
        db().commit()
        return record

    @blp.route(f"{item_url}/gate", methods=["GET"])
    @blp.response(200, s.GateOut)
    def gate(**kwargs: Any) -> Any:
        record = load(**kwargs)
        return order.gate(db(), record, services().policy, now()).as_dict()

    @blp.route(f"{item_url}/decisions")
    class Decisions(MethodView):
        @blp.response(200, s.DecisionOut(many=True))
        def get(self, **kwargs: Any) -> Any:
            record = load(**kwargs)
            return (
                db()
                .scalars(
                    select(Decision)
                    .where(Decision.subject_kind == kind, Decision.subject_id == record.id)
                    .order_by(Decision.id)
                )
                .all()
            )

        @blp.arguments(s.DecisionIn)
        @blp.response(201, s.DecisionOut)
        def post(self, data: dict[str, Any], **kwargs: Any) -> Any:
            decision = lifecycle.decide(
                db(), current_actor(), load(**kwargs), services().policy, now(), **data
            )
            db().commit()
            return decision

    if list_query is None:
        return

    @blp.route(list_url(item_url), methods=["GET"])
    @blp.arguments(s.ListFilters, location="query")
    @blp.response(200, page_schema)
    def listing(filters: dict[str, Any], **kwargs: Any) -> Any:
        require(current_actor(), "read")
        query = list_query(**kwargs)
        if "state" in filters:
            query = query.where(cls.state == filters["state"])
        if "owner" in filters:
            query = query.where(cls.owner_id == filters["owner"])
        if "organisation" in filters:
            query = query.where(cls.organisation_id == filters["organisation"])
        total = db().scalar(select(func.count()).select_from(query.subquery()))
        page, per_page = filters["page"], filters["per_page"]
        items = (
            db().scalars(query.order_by(cls.id).offset((page - 1) * per_page).limit(per_page)).all()
        )
        return {"items": items, "page": page, "per_page": per_page, "total": total}


def list_url(item_url: str) -> str:
    return item_url.rsplit("/", 1)[0]


def now() -> Any:
    return services().clock.now()


class DependentsOut(Schema):
    datasets = fields.List(fields.Dict())
    model_versions = fields.List(fields.Dict())
    clients = fields.List(fields.Dict())


def agreements_blueprint() -> Blueprint:
    blp = simple_kind("agreement", "agreements", s.AgreementIn, s.AgreementOut)

    @blp.route("/<int:record_id>/dependents", methods=["GET"])
    @blp.response(200, DependentsOut)
    def dependents(record_id: int) -> Any:
        require(current_actor(), "read")
        agreement = registration.get(db(), "agreement", record_id)
        deps = upstream.dependents_of_agreement(db(), agreement)  # type: ignore[arg-type]
        policy, today = services().policy, now().date()
        return {
            "datasets": [
                {
                    "id": d.id,
                    "name": d.name,
                    "state": d.state,
                    "usable": usable(db(), d, policy, today).ok,
                }
                for d in deps["datasets"]
            ],
            "model_versions": [
                {
                    "id": v.id,
                    "model": v.model.name,
                    "number": v.number,
                    "state": v.state,
                    "servable": servability(db(), v, policy, today).ok,
                }
                for v in deps["model_versions"]
            ],
            "clients": [{"id": c.id, "name": c.name, "models": c.models} for c in deps["clients"]],
        }

    return blp


def simple_kind(
    kind: str, plural: str, schema_in: type[Schema], schema_out: type[Schema]
) -> Blueprint:
    """A kind addressed by integer id, created by a JSON POST to its collection."""
    blp = Blueprint(
        plural,
        __name__,
        url_prefix=f"/api/v1/{plural}",
        description=f"{plural.capitalize()}: register, read, update, submit, decide.",
    )
    cls = registration.KINDS[kind]

    @blp.route("", methods=["POST"])
    @blp.arguments(schema_in)
    @blp.response(201, schema_out)
    def create(data: dict[str, Any]) -> Any:
        record = registration.create(db(), current_actor(), kind, data, now())
        db().commit()
        return record

    governed_routes(
        blp,
        kind,
        "/<int:record_id>",
        lambda record_id: record_id,
        schema_in,
        schema_out,
        list_query=lambda: select(cls),
    )
    return blp


def blueprints() -> list[Blueprint]:
    from . import datasets, dpias, models

    return [
        agreements_blueprint(),
        datasets.blueprint(),
        dpias.blueprint(),
        *models.blueprints(),
    ]
