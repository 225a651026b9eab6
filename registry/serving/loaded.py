"""Loaded model versions, kept per process and keyed by the artefact's sha256."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy.orm import Session

from ..analysis.prepared import Prepared
from ..governance import ledger
from ..governance.actors import SYSTEM
from ..governance.errors import Unavailable
from ..governance.policy import Policy
from ..governance.versions import evaluation_sample
from ..records import ModelVersion
from ..storage import FileStore

_cache: dict[tuple[int, str], Prepared] = {}
_lock = threading.Lock()


def get(session: Session, version: ModelVersion, store: FileStore, policy: Policy,
        now: datetime) -> Prepared:
    """The version ready to score; loaded once, verifying the sha256 of the file on disk."""
    key = (version.id, version.artefact_sha256 or "")
    prepared = _cache.get(key)
    if prepared is not None:
        return prepared
    with _lock:
        prepared = _cache.get(key)
        if prepared is None:
            prepared = _load(session, version, store, policy, now)
            _cache[key] = prepared
    return prepared


def _load(session: Session, version: ModelVersion, store: FileStore, policy: Policy,
          now: datetime) -> Prepared:
    from ..analysis import artefacts, prepared

    data = store.read(version.artefact_path or "")
    try:
        return prepared.prepare(data, sha256=version.artefact_sha256 or "",
                                trusted=list(policy.trusted_types),
                                features=version.feature_schema,
                                background=evaluation_sample(version, store))
    except artefacts.ArtefactRefused as exc:
        # Record the refusal in its own transaction: the request itself will be rolled back.
        with Session(bind=session.get_bind()) as audit:
            ledger.append(audit, SYSTEM, "artefact_refused", "model_version", version.id,
                          {"reason": str(exc), "expected_sha256": version.artefact_sha256}, now)
            audit.commit()
        raise Unavailable(f"{version.label} cannot be served: its artefact failed verification "
                          f"({exc})", {"artefact": [str(exc)]}) from exc


def clear() -> None:
    with _lock:
        _cache.clear()
