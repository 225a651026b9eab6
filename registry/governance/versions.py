"""Registering a model version: store its skops artefact and record its sha256."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..records import ModelVersion, PredictiveModel
from ..storage import FileStore
from . import registration
from .actors import Actor
from .errors import Invalid
from .permissions import require
from .policy import Policy


def register(session: Session, actor: Actor, model: PredictiveModel, metadata: dict[str, Any],
             artefact: bytes, store: FileStore, policy: Policy, now: datetime) -> ModelVersion:
    """Refuse anything that is not a safe skops file before anything is stored."""
    from ..analysis import artefacts  # numpy and skops load only when a model arrives

    require(actor, "register")
    if not artefact:
        raise Invalid("the artefact is empty", {"artefact": ["empty file"]})
    try:
        artefacts.sniff_refuse_pickle(artefact)
        offending = artefacts.check_types(artefact, list(policy.trusted_types))
    except artefacts.ArtefactRefused as exc:
        raise Invalid(f"artefact refused: {exc}",
                      {"artefact": [str(exc)], "offending_types": exc.offending_types}) from exc
    if offending:
        raise Invalid(
            "artefact refused: it contains types outside the allow-list",
            {"artefact": [f"untrusted types: {', '.join(offending)}"],
             "offending_types": offending},
        )
    digest = artefacts.sha256_bytes(artefact)
    number = registration.next_version_number(session, model)
    version = registration.create(
        session, actor, "model_version", metadata, now,
        model=model, number=number, artefact_sha256=digest, artefact_size=len(artefact),
    )
    version.artefact_path = store.write(f"artefacts/{model.name}/{number}-{digest}.skops", artefact)
    return version  # type: ignore[return-value]
