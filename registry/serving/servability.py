"""Which version of a model to serve, and whether it may be served — cached per process.

The cache key holds the ledger's head: every decision, audit, drift check or edit appends to the
ledger, so any such change invalidates every worker's cache on its very next request at the cost
of one single-row read. The date is in the key too, so expiries bite on their day.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..governance.errors import Conflict, NotFound
from ..governance.policy import Policy
from ..governance.usability import servability
from ..records import Decision, LedgerHead, ModelVersion, PredictiveModel, ScoreReceipt


@dataclass(frozen=True)
class Verdict:
    version_id: int
    ok: bool
    reason: str
    approval_id: int | None
    valid_until: date | None
    pilot_cap: int | None


_cache: dict[tuple[str, int | None, int, date], Verdict] = {}
_lock = threading.Lock()


def head(session: Session) -> int:
    return session.scalar(select(LedgerHead.seq).where(LedgerHead.id == 1)) or 0


def verdict(session: Session, name: str, number: int | None, policy: Policy, today: date
            ) -> Verdict:
    key = (name, number, head(session), today)
    cached = _cache.get(key)
    if cached is None:
        cached = _compute(session, name, number, policy, today)
        with _lock:
            if len(_cache) > 10_000:
                _cache.clear()
            _cache[key] = cached
    return cached


def _compute(session: Session, name: str, number: int | None, policy: Policy, today: date
             ) -> Verdict:
    model = session.scalars(select(PredictiveModel).where(PredictiveModel.name == name)).first()
    if model is None:
        raise NotFound(f"no model named {name!r}", {"model": [name]})
    if number is not None:
        version = next((v for v in model.versions if v.number == number), None)
        if version is None:
            raise NotFound(f"{model.label} has no version {number}", {"version": [str(number)]})
    else:
        approved = [v for v in model.versions if v.state == "approved"]
        version = approved[-1] if approved else (model.versions[-1] if model.versions else None)
        if version is None:
            return Verdict(0, False, f"{model.label} is not servable: it has no versions", None,
                           None, None)
    usable = servability(session, version, policy, today)
    cap = version.pilot_case_cap if version.stage == "pilot" else None
    return Verdict(version.id, usable.ok, usable.reason, version.approval_id,
                   version.approved_until, cap)


def require_servable(session: Session, name: str, number: int | None, policy: Policy,
                     today: date, cases: int) -> tuple[ModelVersion, Verdict]:
    v = verdict(session, name, number, policy, today)
    if not v.ok:
        raise Conflict(v.reason, {"servable": False, "reason": v.reason})
    if v.pilot_cap is not None:
        served = session.scalar(select(func.count()).select_from(ScoreReceipt)
                                .where(ScoreReceipt.model_version_id == v.version_id)) or 0
        if served + cases > v.pilot_cap:
            version = session.get(ModelVersion, v.version_id)
            label = version.label if version else name
            raise Conflict(f"{label} is not servable: its pilot cap of {v.pilot_cap} cases is "
                           f"reached ({served} scored)", {"servable": False})
    version = session.get(ModelVersion, v.version_id)
    assert version is not None and session.get(Decision, v.approval_id) is not None
    return version, v


def clear() -> None:
    with _lock:
        _cache.clear()
