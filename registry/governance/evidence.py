"""The evidence a version's gate reads: the bias audit and drift monitor in force, the changes
proposed to them, and the gaps in it an officer has waived or acknowledged.

While a version is not yet in use, new evidence takes effect at once: the data scientist is
still building it. Once it is in use (approved or suspended), new evidence is a *proposal*: only
the model's owners may make one, and what is in force stays so until a governance officer
accepts or declines it (:mod:`.proposals`). A monitor or audit in use can therefore never be
weakened quietly — not its columns, cadence or action, nor its dataset, groupings or threshold.

A *gap* is something the evidence shows that only an officer's recorded decision can let pass:
groups too small to assess, proxies among the model's features, evaluation data overlapping the
training data, a drift alert. Each gap names the evidence it was found in (``bias_audit:12``) and
its items (the groups, the features); a waiver covers exactly those items of that evidence, so
new evidence needs a decision of its own (:mod:`.waivers`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import BiasAudit, Decision, DriftMonitor, ModelVersion
from .actors import Actor
from .errors import Conflict, Forbidden

IN_USE = ("approved", "suspended")
CLOSED = ("rejected", "retired")
Evidence = BiasAudit | DriftMonitor
EVIDENCE_KINDS: dict[str, type[Evidence]] = {"bias_audit": BiasAudit,
                                              "drift_monitor": DriftMonitor}
EVIDENCE_WORDS = {"bias_audit": "bias audit", "drift_monitor": "drift monitor"}


def ref(evidence: Evidence) -> str:
    """How decisions and ledger entries name a piece of evidence, e.g. ``bias_audit:12``."""
    return f"{kind_of(evidence)}:{evidence.id}"


def kind_of(evidence: Evidence) -> str:
    return "bias_audit" if isinstance(evidence, BiasAudit) else "drift_monitor"


def owners(version: ModelVersion) -> set[int]:
    """The people who own the model or the version: who may propose changes to its evidence."""
    model = version.model
    people = {model.owner_id, model.created_by_id, version.owner_id, version.created_by_id}
    return {p for p in people if p is not None}


def arrival_status(actor: Actor, version: ModelVersion, what: str) -> str:
    """The status new evidence takes: in force on a version not yet in use, else proposed —
    and then only from one of the model's owners (Forbidden for anyone else)."""
    if version.state in CLOSED:
        raise Conflict(f"{version.label} is {version.state}: it takes no new {what}",
                       {"state": version.state})
    if version.state not in IN_USE:
        return "in_force"
    if actor.user_id not in owners(version):
        raise Forbidden(
            f"{version.label} is in use: only the model's owners may propose a new {what}; "
            f"{actor.name} is not one of them",
            {"rule": "owners_only", "state": version.state})
    return "proposed"


def _of(session: Session, kind: type[Evidence], version: ModelVersion, status: str
        ) -> list[Evidence]:
    return list(session.scalars(select(kind).where(kind.model_version_id == version.id,
                                                   kind.status == status).order_by(kind.id)))


def in_force_audit(session: Session, version: ModelVersion) -> BiasAudit | None:
    found = _of(session, BiasAudit, version, "in_force")
    return found[-1] if found else None  # type: ignore[return-value]


def in_force_monitor(session: Session, version: ModelVersion) -> DriftMonitor | None:
    found = _of(session, DriftMonitor, version, "in_force")
    return found[-1] if found else None  # type: ignore[return-value]


def proposals(session: Session, version: ModelVersion) -> list[Evidence]:
    """Changes of evidence awaiting an officer's decision, oldest first."""
    return [*_of(session, BiasAudit, version, "proposed"),
            *_of(session, DriftMonitor, version, "proposed")]


def take_in_force(session: Session, evidence: Evidence) -> None:
    """Put the evidence in force; what was in force of the same kind is superseded."""
    kind = type(evidence)
    for old in session.scalars(select(kind).where(
            kind.model_version_id == evidence.model_version_id, kind.status == "in_force",
            kind.id != evidence.id)):
        old.status = "superseded"
    evidence.status = "in_force"


def waived(session: Session, version: ModelVersion, requirement: str, evidence: str) -> set[str]:
    """The items of `evidence` an officer has waived (or acknowledged) for `requirement`."""
    items: set[str] = set()
    for d in session.scalars(select(Decision).where(
            Decision.subject_kind == version.kind, Decision.subject_id == version.id,
            Decision.decision.in_(("waive", "acknowledge")))):
        scope = d.scope or {}
        if scope.get("requirement") == requirement and scope.get("evidence") == evidence:
            items.update(scope.get("items") or [])
    return items
