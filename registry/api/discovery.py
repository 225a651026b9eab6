"""What a model's cases must hold, for the tools that send them: each feature's type,
description, allowed categories, range and whether it may be missing."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from ..governance import registration
from ..governance.errors import Forbidden, NotFound
from ..governance.permissions import require
from ..platform.services import db, services
from ..records import ModelVersion, PredictiveModel
from ..serving import verdicts
from .auth import current_actor

blp = Blueprint("discovery", __name__, url_prefix="/api/v1/models",
                description="A model's inputs, for the tools allowed to score with it.")

# The Open Inference Protocol's datatype of each column type.
DATATYPES = {"integer": "INT64", "number": "FP64", "boolean": "BOOL", "category": "BYTES",
             "string": "BYTES", "date": "BYTES"}


def visible_model(name: str) -> PredictiveModel:
    """The model, if the caller may see it: people who read, clients allowed this model."""
    actor = current_actor()
    if actor.kind == "client":
        require(actor, "score")
        rights = verdicts.rights(db(), actor.id, verdicts.head(db()))
        if rights is None or name not in rights.models:
            raise Forbidden(f"{actor.name} is not allowed to use model {name!r}",
                            {"model": [f"{actor.name} is not allowed to use model {name!r}"]})
    else:
        require(actor, "read")
    model = registration.get(db(), "model", name)
    assert isinstance(model, PredictiveModel)
    return model


def served_version(model: PredictiveModel, version: str | None) -> ModelVersion | None:
    """The version asked for, else the latest approved, else the latest."""
    if version is not None:
        found = next((v for v in model.versions if str(v.number) == version), None)
        if found is None:
            raise NotFound(f"{model.label} has no version {version}", {"version": [version]})
        return found
    approved = [v for v in model.versions if v.state == "approved"]
    return approved[-1] if approved else (model.versions[-1] if model.versions else None)


def features(version: ModelVersion | None) -> list[dict[str, Any]]:
    """Each feature as a tool needs it; ``nullable`` as its training data declares (a null is
    sent as JSON null and the pipeline's imputer decides)."""
    if version is None:
        return []
    nullable = {c.name: c.nullable for d in version.training_datasets for c in d.columns}
    out = []
    for f in version.feature_schema:
        categorical = f["type"] in ("category", "string")
        out.append({"name": f["name"], "type": f["type"], "datatype": DATATYPES[f["type"]],
                    "description": f.get("description") or "",
                    "allowed": f.get("allowed") if categorical else None,
                    "minimum": None if categorical else f.get("minimum"),
                    "maximum": None if categorical else f.get("maximum"),
                    "nullable": nullable.get(f["name"], True)})
    return out


@blp.route("/<name>/schema")
@blp.response(200)
def schema(name: str) -> Any:
    """The inputs of the version that would be served (else the latest), and the outcomes a
    caseworker may report on its scores: a client allowed the model, or a person who may read
    it."""
    model = visible_model(name)
    version = served_version(model, None)
    return {"model": model.name, "version": version.number if version else None,
            "purpose": model.purpose, "summary": version.summary if version else None,
            "features": features(version),
            "outcomes": list(model.outcome_vocabulary or services().policy.outcomes)}
