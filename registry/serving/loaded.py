"""Loaded model versions, kept per process and keyed by the artefact's sha256."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ..governance import ledger
from ..governance.actors import SYSTEM
from ..governance.errors import Unavailable
from ..governance.policy import Policy
from ..governance.samples import background_sample
from ..platform.storage import FileStore
from ..records import ModelVersion
from .verdicts import Verdict, version_of

if TYPE_CHECKING:  # pandas and sklearn load with the first model, not with the app
    from ..analysis.models import Prepared

_cache: dict[tuple[int, str], Prepared] = {}
_lock = threading.Lock()
# How many times this process has loaded a model: the readiness probe reports it, and a warm
# start is one whose first score adds none.
loads = 0


def get(session: Session, verdict: Verdict, store: FileStore, policy: Policy,
        now: datetime, *, release: bool = False) -> Prepared:
    """The version ready to score; loaded once, verifying the sha256 of the file on disk.

    Only a first use reads the version's record and files; later uses touch no database. With
    ``release`` the session's transaction is committed (it must hold no changes) once those
    reads are done, so no lock is held while the model loads and its explainer is built.
    """
    global loads
    key = (verdict.version_id, verdict.artefact_sha256)
    prepared = _cache.get(key)
    if prepared is not None:
        return prepared
    with _lock:
        prepared = _cache.get(key)
        if prepared is None:
            loads += 1
            prepared = _load(session, version_of(session, verdict), store, policy, now,
                             release)
            _cache[key] = prepared
    return prepared


def has(verdict: Verdict) -> bool:
    """Whether the version the verdict names is loaded in this process."""
    return (verdict.version_id, verdict.artefact_sha256) in _cache


def count() -> int:
    return len(_cache)


def _load(session: Session, version: ModelVersion, store: FileStore, policy: Policy,
          now: datetime, release: bool) -> Prepared:
    from ..analysis import models

    data = store.read(version.artefact_path or "")
    label, version_id, expected = version.label, version.id, version.artefact_sha256 or ""
    try:
        features, background = list(version.feature_schema), background_sample(version, store)
    except ValueError as exc:
        raise Unavailable(f"{label} cannot be served: {exc}", {"background": [str(exc)]}) from exc
    if release:
        session.commit()
    try:
        return models.prepare(data, sha256=expected, trusted=list(policy.trusted_types),
                              features=features, background=background)
    except models.ArtefactRefused as exc:
        # Keep the refusal on record although the request fails: nothing else was written yet.
        session.rollback()
        ledger.append(session, SYSTEM, "artefact_refused", "model_version", version_id,
                      {"reason": str(exc), "expected_sha256": expected}, now)
        session.commit()
        raise Unavailable(f"{label} cannot be served: its artefact failed verification "
                          f"({exc})", {"artefact": [str(exc)]}) from exc


def clear() -> None:
    with _lock:
        _cache.clear()
