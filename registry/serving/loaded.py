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
        # Keep the refusal on record although the request fails: nothing else was written yet.
        label, version_id, expected = version.label, version.id, version.artefact_sha256
        session.rollback()
        ledger.append(session, SYSTEM, "artefact_refused", "model_version", version_id,
                      {"reason": str(exc), "expected_sha256": expected}, now)
        session.commit()
        raise Unavailable(f"{label} cannot be served: its artefact failed verification "
                          f"({exc})", {"artefact": [str(exc)]}) from exc


def clear() -> None:
    with _lock:
        _cache.clear()
