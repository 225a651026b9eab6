"""Registering a model version: refuse unsafe artefacts, store it, prove it loads and explains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..platform.storage import FileStore
from ..records import ModelVersion, PredictiveModel
from . import ledger, overlap, registration
from .actors import Actor
from .errors import Conflict, Invalid
from .permissions import require
from .policy import Policy
from .samples import background_sample, evaluation_sample, sample_record

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def register(
    session: Session,
    actor: Actor,
    model: PredictiveModel,
    metadata: dict[str, Any],
    artefact: bytes,
    store: FileStore,
    policy: Policy,
    now: datetime,
) -> ModelVersion:
    """Refuse anything that is not a safe skops file before anything is stored."""
    actor = actor.within(model.organisation_id)  # the roles held in its organisation
    from ..analysis import models  # numpy and skops load only when a model arrives

    require(actor, "register")
    if not artefact:
        raise Invalid("the artefact is empty", {"artefact": ["empty file"]})
    try:
        models.sniff_refuse_pickle(artefact)
        offending = models.check_types(artefact, list(policy.trusted_types))
    except models.ArtefactRefused as exc:
        raise Invalid(
            f"artefact refused: {exc}",
            {"artefact": [str(exc)], "offending_types": exc.offending_types},
        ) from exc
    if offending:
        raise Invalid(
            "artefact refused: it contains types outside the allow-list",
            {
                "artefact": [f"untrusted types: {', '.join(offending)}"],
                "offending_types": offending,
            },
        )
    digest = models.sha256_bytes(artefact)
    number = registration.next_version_number(session, model)
    version = registration.create(
        session,
        actor,
        "model_version",
        metadata,
        now,
        model=model,
        organisation_id=model.organisation_id,
        number=number,
        artefact_sha256=digest,
        artefact_size=len(artefact),
    )
    assert isinstance(version, ModelVersion)
    version.artefact_path = store.write(f"artefacts/{model.name}/{number}-{digest}.skops", artefact)
    ledger.append(
        session,
        actor,
        "store_artefact",
        "model_version",
        version.id,
        {"sha256": digest, "size": len(artefact)},
        now,
    )
    run_self_check(session, actor, version, store, policy, now)
    return version


def run_self_check(
    session: Session,
    actor: Actor,
    version: ModelVersion,
    store: FileStore,
    policy: Policy,
    now: datetime,
) -> dict[str, Any]:
    """Compare the evaluation data with the training data; load the stored artefact (verifying
    its sha256), build its explainer on the chosen background, and score and explain evaluation
    rows.

    The outcomes are recorded on the version; the gate reads them. A failure is recorded, not
    raised: the data scientist sees what to fix on the gate.
    """
    actor = actor.within(version.organisation_id)  # the roles held in its organisation
    from ..analysis import models

    if version.state not in registration.EDITABLE + ("submitted",):
        raise Conflict(
            f"{version.label} is {version.state}; the self-check runs before approval",
            {"state": version.state},
        )
    version.evaluation_overlap = overlap.compare(version, store, policy)
    result: dict[str, Any]
    try:
        sample = evaluation_sample(version, store)
        background = background_sample(version, store)
        if not version.feature_schema:
            columns = (
                [_column_dict(c) for c in version.training_datasets[0].columns]
                if version.training_datasets
                else []
            )
            loaded = models.load_artefact(
                store.read(version.artefact_path),
                expected_sha256=version.artefact_sha256,
                extra_trusted=list(policy.trusted_types),
            )
            version.feature_schema = models.derive_features(loaded, columns)
        ready = models.prepare(
            store.read(version.artefact_path),
            sha256=version.artefact_sha256 or "",
            trusted=list(policy.trusted_types),
            features=version.feature_schema,
            background=background,
        )
        result = {**models.check_prepared(ready, sample), "sha256": version.artefact_sha256,
                  "background": {**(version.background or {}), **sample_record(background),
                                 "base_value": ready.explainer.base_value}}
        version.explainer = ready.explainer.method
    except (ValueError, KeyError, TypeError, models.ArtefactRefused) as exc:
        result = {"error": str(exc), "sha256": None}
        version.explainer = None
    version.self_check, version.self_checked_at = result, now
    ledger.append(session, actor, "self_check", "model_version", version.id,
                  {**result, "evaluation_overlap": version.evaluation_overlap}, now)
    return result


def _column_dict(column: Any) -> dict[str, Any]:
    keys = ("name", "type", "description", "allowed", "minimum", "maximum")
    return {k: getattr(column, k) for k in keys}


@dataclass(frozen=True)
class ModelRef:
    """What scoring rows with a version's artefact needs, without the database."""

    path: str
    sha256: str
    features: list[dict[str, Any]]
    trusted: tuple[str, ...]

    @classmethod
    def of(cls, version: ModelVersion, policy: Policy) -> ModelRef:
        return cls(version.artefact_path or "", version.artefact_sha256 or "",
                   [dict(f) for f in version.feature_schema], tuple(policy.trusted_types))

    def scores(self, frame: pd.DataFrame, store: FileStore) -> np.ndarray:
        """The positive-class probability of each row (the sha256 is checked before loading)."""
        from ..analysis import models

        pipeline = models.load_artefact(store.read(self.path), expected_sha256=self.sha256,
                                           extra_trusted=list(self.trusted))
        return pipeline.predict_proba(models.model_frame(frame, self.features))[:, 1]
