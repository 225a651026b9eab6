"""Which version of a model to serve, whether it may be served, and what a client may use —
cached per process.

Every cache key holds the ledger's head: every decision, audit, drift check or edit appends to
the ledger, so any such change invalidates every worker's cache on its very next request at the
cost of one single-row read. The head's hash (not only its number) is the key, so two databases
whose ledgers differ never share an entry; so is the policy's content hash. The date is in the key
too, so expiries bite on their day, and the organisation: names are each organisation's own, so
two councils' "hmo-finder" never share a verdict. What changes within a day by time alone (the
end of a drift monitor's grace, a daily check's deadline) is worked out again at that moment
(``recheck_at``);
a monitor that falls overdue by receipts is seen once `gatehouse monitors run` or
`gatehouse sweep` records it on the ledger (see :mod:`registry.governance.monitor_health`).

A cached :class:`Verdict` carries a copy of what serving needs from the version (its feature
schema, bands, artefact), so a warm request reads nothing else about the model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..governance import monitor_health, purposes
from ..governance.chain import servability
from ..governance.errors import Conflict, NotFound
from ..governance.policy import Policy
from ..records import ApiClient, LedgerHead, ModelVersion, PredictiveModel, ScoreReceipt

_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Verdict:
    """Whether a model (or a pinned version) may be served today; the version's serving facts."""

    version_id: int
    ok: bool
    reason: str
    approval_id: int | None
    approved_until: date | None
    pilot_cap: int | None
    number: int = 0
    label: str = ""
    feature_schema: tuple[dict[str, Any], ...] = ()
    bands: tuple[dict[str, Any], ...] | None = None
    artefact_sha256: str = ""
    # purpose binding: the model's registered purpose, and the purposes the version may be
    # served for today (that one, if every agreement under its data grants it for use)
    model_label: str = ""
    model_purpose: str = ""
    purposes: frozenset[str] = frozenset()
    use_refusal: str = ""

    def purpose_refusal(self, purpose: str) -> str:
        """Why the version may not be served for the purpose, or "" if it may."""
        if purpose != self.model_purpose:
            return f"{self.model_label} is registered for {self.model_purpose!r}, not {purpose!r}"
        return "" if purpose in self.purposes else self.use_refusal
    recheck_at: datetime | None = None  # the verdict may change by time alone then


@dataclass(frozen=True)
class Rights:
    """The models and purposes an API client may use."""

    models: frozenset[str]
    purposes: frozenset[str]


_verdicts: dict[tuple[int | None, str, int | None, str, str, date], Verdict] = {}
_rights: dict[tuple[int, str], Rights | None] = {}
_lock = threading.Lock()


_HEAD = f"SELECT entry_hash FROM {LedgerHead.__tablename__} WHERE id = 1"


def head(session: Session) -> str:
    """The hash of the ledger's latest entry: the version of everything governed.

    Plain SQL on the session's connection: it runs on every score request, and building and
    caching an ORM statement costs more than the query.
    """
    return session.connection().exec_driver_sql(_HEAD).scalar() or ""


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    with _lock:
        if len(cache) > _MAX_ENTRIES:
            cache.clear()
        cache[key] = value


def verdict(session: Session, organisation_id: int | None, name: str, number: int | None,
            policy: Policy, now: datetime, ledger_head: str | None = None) -> Verdict:
    """The verdict on the organisation's model of that name."""
    at = head(session) if ledger_head is None else ledger_head
    key = (organisation_id, name, number, at, policy.content_hash, now.date())
    cached = _verdicts.get(key)
    if cached is None or (cached.recheck_at is not None and now >= cached.recheck_at):
        cached = _compute(session, organisation_id, name, number, policy, now)
        _remember(_verdicts, key, cached)
    return cached


def cached(client_id: int, organisation_id: int | None, name: str, number: int | None,
           policy: Policy, now: datetime, ledger_head: str,
           loaded: Callable[[Verdict], bool]) -> tuple[Rights | None, Verdict] | None:
    """The client's rights and the verdict when a score's checks are all answered from the
    caches at this head and moment, so they read nothing: both cached and current, no pilot cap
    to count against, and the version ``loaded``; else None."""
    key = (client_id, ledger_head)
    if key not in _rights:
        return None
    found = _verdicts.get((organisation_id, name, number, ledger_head, policy.content_hash,
                           now.date()))
    if (found is None or (found.recheck_at is not None and now >= found.recheck_at)
            or found.pilot_cap is not None or not loaded(found)):
        return None
    return _rights[key], found


def rights(session: Session, client_id: int, ledger_head: str) -> Rights | None:
    """What the client may use, or None if there is no such client (changes go on the ledger)."""
    key = (client_id, ledger_head)
    if key in _rights:
        return _rights[key]
    client = session.get(ApiClient, client_id)
    found = None if client is None else Rights(frozenset(client.models),
                                                frozenset(client.purposes))
    _remember(_rights, key, found)
    return found


def _compute(session: Session, organisation_id: int | None, name: str, number: int | None,
             policy: Policy, now: datetime) -> Verdict:
    model = session.scalars(select(PredictiveModel).where(
        PredictiveModel.name == name, PredictiveModel.organisation_id == organisation_id)).first()
    if model is None:
        raise NotFound(f"no model named {name!r}", {"model": [name]})
    if number is not None:
        version = next((v for v in model.versions if v.number == number), None)
        if version is None:
            raise NotFound(f"{model.label} has no version {number}", {"version": [str(number)]})
    else:
        version = purposes.latest_version(model)
        if version is None:
            return Verdict(0, False, f"{model.label} is not servable: it has no versions", None,
                           None, None, model_label=model.label, model_purpose=model.purpose,
                           purposes=frozenset({model.purpose}))
    usable = servability(session, version, policy, now.date(), now)
    refusal = purposes.use_refusal(version)
    cap = version.pilot_case_cap if version.stage == "pilot" else None
    return Verdict(
        version.id, usable.ok, usable.reason, version.approval_id, version.approved_until, cap,
        number=version.number, label=version.label,
        feature_schema=tuple(dict(f) for f in version.feature_schema or []),
        bands=None if not version.bands else tuple(dict(b) for b in version.bands),
        artefact_sha256=version.artefact_sha256 or "",
        model_label=model.label, model_purpose=model.purpose,
        purposes=frozenset() if refusal else frozenset({model.purpose}), use_refusal=refusal,
        recheck_at=monitor_health.next_change(session, version, policy, now),
    )


def require_servable(session: Session, v: Verdict, cases: int) -> None:
    """Conflict with the verdict's reason unless it is servable for `cases` more cases (a
    pilot's cap counts them)."""
    if not v.ok:
        raise Conflict(v.reason, {"servable": False, "reason": v.reason})
    if v.pilot_cap is not None:
        served = session.scalar(select(func.count()).select_from(ScoreReceipt)
                                .where(ScoreReceipt.model_version_id == v.version_id)) or 0
        if served + cases > v.pilot_cap:
            raise Conflict(f"{v.label} is not servable: its pilot cap of {v.pilot_cap} cases is "
                           f"reached ({served} scored)", {"servable": False})


def version_of(session: Session, v: Verdict) -> ModelVersion:
    version = session.get(ModelVersion, v.version_id)
    if version is None:  # deleted since the verdict was cached: the head moved, so not reached
        raise NotFound(f"{v.label} no longer exists", {"version": [str(v.number)]})
    return version


def clear() -> None:
    with _lock:
        _verdicts.clear()
        _rights.clear()
