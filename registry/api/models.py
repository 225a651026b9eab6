"""Predictive models and their versions: registration, artefact upload, the shared routes."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy import select

from ..governance import registration, risk, versions
from ..governance.errors import Invalid
from ..governance.inputs import json_loads
from ..platform.services import db, services
from ..records import ModelVersion, PredictiveModel
from . import current_actor
from . import schemas as s
from .governed import governed_routes, now


class ModelOut(s.ModelOut):
    """A model with its computed risk tier and the numbers of its versions."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:  # type: ignore[override]
        items = obj if many else [obj]
        out = [
            {
                **super(ModelOut, self).dump(m),
                "risk_tier": risk.tier(db(), m, services().policy).tier,
            }
            for m in items
        ]
        return out if many else out[0]


def blueprints() -> list[Blueprint]:
    models = Blueprint(
        "models",
        __name__,
        url_prefix="/api/v1/models",
        description="Predictive models: purpose, owners, decision role.",
    )

    @models.route("", methods=["POST"])
    @models.arguments(s.ModelIn)
    @models.response(201, ModelOut)
    def create(data: dict[str, Any]) -> Any:
        record = registration.create(db(), current_actor(), "model", data, now())
        db().commit()
        return record

    governed_routes(
        models,
        "model",
        "/<name>",
        lambda name: name,
        s.ModelIn,
        ModelOut,
        list_query=lambda: select(PredictiveModel),
    )

    vers = Blueprint(
        "versions",
        __name__,
        url_prefix="/api/v1/models/<name>/versions",
        description="Model versions: the skops artefact, schema, datasets, stage.",
    )

    @vers.route("", methods=["POST"])
    @vers.arguments(s.ArtefactIn, location="files")
    @vers.arguments(s.VersionMetadataIn, location="form")
    @vers.response(201, s.VersionOut)
    @vers.alt_response(413, description="larger than the upload limit")
    def upload(_files: Any, form: dict[str, Any], name: str) -> Any:
        model = registration.get(db(), "model", name)
        artefact = request.files.get("artefact")
        if artefact is None:
            raise Invalid(
                "send the skops file as multipart field 'artefact'", {"artefact": ["missing"]}
            )
        metadata = _metadata(form["metadata"])
        version = versions.register(
            db(),
            current_actor(),
            model,
            metadata,
            artefact.read(),
            services().store,
            services().policy,
            now(),
        )
        db().commit()
        return version

    def version_query(name: str) -> Any:
        return select(ModelVersion).join(PredictiveModel).where(PredictiveModel.name == name)

    governed_routes(
        vers,
        "model_version",
        "/<int:number>",
        lambda name, number: (name, number),
        s.VersionIn,
        s.VersionOut,
        list_query=version_query,
    )
    return [models, vers]


def _metadata(text: str) -> dict[str, Any]:
    raw = json_loads(text, "metadata")
    if not isinstance(raw, dict):
        raise Invalid("metadata must be a JSON object", {"metadata": ["not an object"]})
    try:
        return s.VersionIn().load(raw)
    except ValidationError as exc:
        details = {f"metadata.{k}": v for k, v in exc.normalized_messages().items()}
        raise Invalid(f"invalid metadata: {', '.join(sorted(details))}", details) from exc
