"""Predictive models and their versions: the shared governed routes, and a version registered
from its artefact."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy import Select, select

from ..governance import registration, risk
from ..governance.errors import Invalid
from ..governance.inputs import json_loads
from ..platform.services import db, services
from ..records import ModelVersion, PredictiveModel
from ..usecases import evidence, records
from ..usecases.inputs import ModelIn, VersionIn
from . import schemas as s
from .auth import unit
from .governed import governed_routes


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
    governed_routes(models, "model", "/<name>", lambda name: name, ModelIn, ModelOut)

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
        u = unit()
        model = registration.get(u.session, "model", name)
        assert isinstance(model, PredictiveModel)
        artefact = request.files.get("artefact")
        if artefact is None:
            raise Invalid(
                "send the skops file as multipart field 'artefact'", {"artefact": ["missing"]}
            )
        return evidence.register_version(u, model, _metadata(form["metadata"]), artefact.read())

    def version_query(name: str) -> Select[Any]:
        records.find(unit(), "model", name)  # 404 for a model the reader may not see
        return select(ModelVersion).join(PredictiveModel).where(PredictiveModel.name == name)

    governed_routes(vers, "model_version", "/<int:number>", lambda name, number: (name, number),
                    VersionIn, s.VersionOut, version_query, creates=False)
    return [models, vers]


def _metadata(text: str) -> dict[str, Any]:
    raw = json_loads(text, "metadata")
    if not isinstance(raw, dict):
        raise Invalid("metadata must be a JSON object", {"metadata": ["not an object"]})
    try:
        return VersionIn().load(raw)  # type: ignore[no-any-return]
    except ValidationError as exc:
        details = {f"metadata.{k}": v for k, v in exc.normalized_messages().items()}
        raise Invalid(f"invalid metadata: {', '.join(sorted(details))}", details) from exc
