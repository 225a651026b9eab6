"""Gaps in a version's evidence that only an officer's recorded decision can let pass.

Each finder returns the gaps of one kind. A *waivable* gap (groups too small to assess, say) is
an unmet gate requirement until an officer waives each of its items; an *alert* (drift found by a
monitor whose action is "alert") does not stop serving, but is shown on the dashboard, the
version page and the register until an officer acknowledges it. Either way the decision names
the evidence and the items, so new evidence needs a decision of its own (see :mod:`.evidence`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import BiasAudit, DriftCheck, DriftMonitor, ModelVersion
from . import overlap
from .evidence import in_force_audit, ref, waived
from .policy import Policy


@dataclass(frozen=True)
class Gap:
    requirement: str  # the gate requirement it belongs to, e.g. "small_groups"
    evidence: str  # where it was found, e.g. "bias_audit:12"
    items: tuple[str, ...]  # what must each be waived: groups, features, columns
    waived: frozenset[str]
    detail: str  # what was found, in the officer's words
    remedy: str  # how to meet it: fix it, or an officer waives it with reasons
    decision: str = "waive"  # or "acknowledge" for an alert

    @property
    def outstanding(self) -> list[str]:
        return [i for i in self.items if i not in self.waived]

    def as_dict(self) -> dict[str, object]:
        return {"requirement": self.requirement, "evidence": self.evidence,
                "items": list(self.items), "outstanding": self.outstanding,
                "detail": self.detail, "remedy": self.remedy, "decision": self.decision}


def _drift_alerts(session: Session, version: ModelVersion, policy: Policy) -> list[Gap]:
    """Each check that found drift on a monitor whose action is to alert."""
    checks = session.scalars(
        select(DriftCheck).join(DriftMonitor)
        .where(DriftMonitor.model_version_id == version.id, DriftMonitor.action == "alert",
               DriftCheck.drifted.is_(True))
        .order_by(DriftCheck.id))
    found = []
    for check in checks:
        evidence = f"drift_check:{check.id}"
        columns = tuple(c["column"] for c in check.columns if c.get("drifted"))
        found.append(Gap(
            "drift_alert", evidence, columns or ("drift",),
            frozenset(waived(session, version, "drift_alert", evidence)),
            f"drift check {check.id} on {check.created_at:%Y-%m-%d} found drift in "
            f"{', '.join(columns) or 'the monitored columns'}",
            "investigate the drift; a governance officer acknowledges the alert with what was "
            "found and done", decision="acknowledge"))
    return found


def not_assessed(audit: BiasAudit) -> list[str]:
    """The groups an audit did not assess, "<grouping>=<group>" (read from older audits too)."""
    results = audit.results if isinstance(audit.results, dict) else {}
    if "not_assessed" in results:
        return [str(item) for item in results["not_assessed"]]
    groupings = results.get("groupings") or {}
    return [f"{name}={group}" for name, g in groupings.items() if isinstance(g, dict)
            for group in g.get("insufficient_groups") or []]


def _small_groups(session: Session, version: ModelVersion, policy: Policy) -> list[Gap]:
    """The groups the audit in force left unassessed, each too small to judge."""
    audit = in_force_audit(session, version)
    items = tuple(not_assessed(audit)) if audit is not None else ()
    if audit is None or not items:
        return []
    evidence = ref(audit)
    size = (audit.results or {}).get("min_group_size", policy.min_group_size)
    return [Gap(
        "small_groups", evidence, items,
        frozenset(waived(session, version, "small_groups", evidence)),
        f"audit {audit.id} did not assess {len(items)} group(s) with fewer than {size} rows: "
        f"{', '.join(items)}",
        "audit on more data for these groups, or a governance officer waives each group not "
        "assessed, with reasons")]


def _proxies(session: Session, version: ModelVersion, policy: Policy) -> list[Gap]:
    """Model features the audit in force found associated with a protected attribute."""
    audit = in_force_audit(session, version)
    if audit is None:
        return []
    features = {f["name"] for f in version.feature_schema}
    found = [p for p in (audit.results or {}).get("proxies") or []
             if isinstance(p, dict) and p.get("column") in features]
    if not found:
        return []
    evidence = ref(audit)
    pairs = "; ".join(f"{p['column']} with {p['protected_attribute']} "
                      f"(Cramér's V {float(p['cramers_v']):.2f})" for p in found)
    return [Gap(
        "proxies", evidence, tuple(dict.fromkeys(p["column"] for p in found)),
        frozenset(waived(session, version, "proxies", evidence)),
        f"audit {audit.id} found model features associated with protected attributes above the "
        f"proxy threshold: {pairs}; each needs an officer's acknowledgement",
        "drop the feature, or a governance officer acknowledges each, with the reasons it may "
        "stay")]


def _evaluation_overlap(session: Session, version: ModelVersion, policy: Policy) -> list[Gap]:
    """Evaluation data that is, or largely holds, the version's training data."""
    if not overlap.is_current(version):
        return []  # the comparison is not of today's data: see the evaluation_data requirement
    found = [p for p in (version.evaluation_overlap or {}).get("pairs", []) if p["overlaps"]]
    if not found:
        return []
    evidence = "datasets:{}/{}".format(",".join(map(str, sorted(version.evaluation_dataset_ids))),
                                       ",".join(map(str, sorted(version.training_dataset_ids))))
    items = tuple(overlap.describe(p) for p in found)
    limit = (version.evaluation_overlap or {}).get("max_shared_rows", policy.max_shared_rows)
    return [Gap(
        "evaluation_overlap", evidence, items,
        frozenset(waived(session, version, "evaluation_overlap", evidence)),
        "the evaluation data is not kept apart from the training data: " + "; ".join(items)
        + f" (the policy allows at most {limit:.0%} shared rows)",
        "evaluate on data the model was not trained on, or a governance officer waives each "
        "overlap, with reasons")]


FINDERS: dict[str, Callable[[Session, ModelVersion, Policy], list[Gap]]] = {
    "drift_alert": _drift_alerts,
    "small_groups": _small_groups,
    "proxies": _proxies,
    "evaluation_overlap": _evaluation_overlap,
}


def find(session: Session, version: ModelVersion, policy: Policy,
         requirement: str | None = None) -> list[Gap]:
    """Every gap of the version (or of one requirement), waived or not."""
    chosen = FINDERS if requirement is None else {requirement: FINDERS[requirement]}
    return [gap for finder in chosen.values() for gap in finder(session, version, policy)]


def open_alerts(session: Session, version: ModelVersion, policy: Policy) -> list[Gap]:
    """Alerts not yet acknowledged: for the dashboard, the version page and the register."""
    return [g for g in find(session, version, policy) if g.decision == "acknowledge"
            and g.outstanding]
