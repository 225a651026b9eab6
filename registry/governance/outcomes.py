"""Outcome monitoring: how a served model performs, and for whom, window by window.

A frontline tool reports on each score receipt what the caseworker finally decided (``outcome``,
free text) and whether they overrode the score (``overrode``). This module turns those reports
into the bias audit's metrics for the population actually served.

The label
    A receipt's outcome counts as the *positive class* when it equals one of the positive
    outcomes, ignoring case and surrounding spaces. They default to the version's
    ``positive_label`` (the same label its bias audit used), so a tool that reports the label's
    own words ("good") needs no set-up; a council whose caseworkers record other words
    ("approved") names them with ``positive``. Every other outcome is the negative class.
    Receipts with no outcome yet are left out of the metrics (counted in ``scored`` only).

The prediction
    ``score >= threshold``, the version's threshold, exactly as in the audit.

The metrics
    The audit's own (:mod:`registry.analysis.fairness`, fairlearn's ``MetricFrame``): count,
    selection rate, true and false positive rates, precision and accuracy over the window's
    receipts with an outcome; plus the override rate (overrides / outcomes), the share of
    scored cases with an outcome, the positive-outcome rate and the mean score.

Groups
    Fairness by group needs each case's protected attributes. Receipts keep the model's inputs
    only (for ``serving.retain_inputs_days``); protected attributes are usually *not* model
    features, so they are usually not there, and the report says so rather than guessing. When a
    protected attribute (flagged on the version's datasets, or audited) or one of the audit's
    extra groupings is a model feature, each window is audited by it under the policy's limits,
    on the receipts whose inputs are still kept.

Windows
    ``windows`` consecutive windows of ``window_days`` days ending at ``now``, each covering
    receipts scored in (start, end]; listed oldest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..records import BiasAudit, ModelVersion, ScoreReceipt
from .audits import fairness_rules
from .errors import Invalid
from .inputs import small_int
from .permissions import require
from .policy import Policy
from .retention import still_kept

MAX_WINDOWS = 24
MAX_WINDOW_DAYS = 366
_ALL = "all receipts"


def parse_window(text: str) -> int:
    """ "30d" → 30, "2w" → 14, "30" → 30 (days)."""
    value = text.strip().lower()
    unit = 7 if value.endswith("w") else 1
    number = small_int(value.rstrip("dw"))
    if number is None or not 1 <= number * unit <= MAX_WINDOW_DAYS:
        raise Invalid("window must be a number of days or weeks, e.g. 30d or 4w",
                      {"window": [f"from 1d to {MAX_WINDOW_DAYS}d"]})
    return number * unit


def _positive(outcome: str, positives: set[str]) -> int:
    return int(outcome.strip().casefold() in positives)


def _overall(y_true: list[int], scores: list[float], threshold: float, policy: Policy
             ) -> dict[str, Any]:
    """The audit's overall metrics (one group holding every row, so no limit applies)."""
    import pandas as pd

    from ..analysis import fairness

    everyone = pd.DataFrame({_ALL: [_ALL] * len(y_true)})
    return fairness.run_audit(y_true, scores, everyone, threshold=threshold,
                              rules=fairness_rules(policy))["overall"]


def _groups_for(session: Session, version: ModelVersion) -> tuple[list[str], list[str],
                                                                   list[str], list[str]]:
    """(protected attributes kept in inputs, extra groupings kept, protected not kept, extra
    not kept)."""
    audit = session.scalars(select(BiasAudit).where(BiasAudit.model_version_id == version.id)
                            .order_by(BiasAudit.id.desc())).first()
    protected: list[str] = []
    for dataset in [*version.training_datasets, *version.evaluation_datasets]:
        protected += dataset.protected_attributes
    if audit is not None:
        protected += audit.sensitive_features
    protected = list(dict.fromkeys(protected))
    extras = [c for c in (audit.extra_groupings if audit else []) if c not in protected]
    features = {f["name"] for f in version.feature_schema}
    return ([c for c in protected if c in features], [c for c in extras if c in features],
            [c for c in protected if c not in features], [c for c in extras if c not in features])


def outcome_report(session: Session, actor: Any, version: ModelVersion, *, window_days: int,
                   windows: int, positive: list[str] | None, policy: Policy, now: datetime
                   ) -> dict[str, Any]:
    """Performance and fairness of the served population, window by window (see the module)."""
    actor = actor.within(version.organisation_id)  # the roles held in its organisation
    import pandas as pd

    from ..analysis import fairness

    require(actor, "read")
    if not 1 <= windows <= MAX_WINDOWS:
        raise Invalid(f"windows must be from 1 to {MAX_WINDOWS}", {"windows": [str(windows)]})
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise Invalid("window out of range", {"window": [f"from 1d to {MAX_WINDOW_DAYS}d"]})
    labels = [p.strip() for p in (positive or [version.positive_label or ""]) if p.strip()]
    if not labels:
        raise Invalid("the version has no positive label: name the positive outcomes",
                      {"positive": ["required"]})
    positives = {p.casefold() for p in labels}
    threshold = float(version.threshold if version.threshold is not None else 0.5)
    protected, extras, protected_absent, extras_absent = _groups_for(session, version)
    grouped = [*protected, *extras]
    width = timedelta(days=window_days)
    start = now - width * windows

    rows = session.execute(
        select(ScoreReceipt.created_at, ScoreReceipt.score, ScoreReceipt.outcome,
               ScoreReceipt.overrode, ScoreReceipt.inputs, ScoreReceipt.inputs_expire_at)
        .where(ScoreReceipt.model_version_id == version.id, ScoreReceipt.created_at > start,
               ScoreReceipt.created_at <= now, ScoreReceipt.outcome.is_not(None))
        .order_by(ScoreReceipt.created_at)).all()
    rules = fairness_rules(policy)
    out_windows = []
    for i in reversed(range(windows)):
        end = now - width * i
        begin = end - width
        scored = session.scalar(select(func.count()).select_from(ScoreReceipt).where(
            ScoreReceipt.model_version_id == version.id, ScoreReceipt.created_at > begin,
            ScoreReceipt.created_at <= end)) or 0
        mine = [r for r in rows if begin < r.created_at <= end]
        y_true = [_positive(r.outcome, positives) for r in mine]
        scores = [float(r.score) for r in mine]
        overrides = sum(1 for r in mine if r.overrode)
        n = len(mine)
        window: dict[str, Any] = {
            "start": begin, "end": end, "scored": scored, "with_outcome": n,
            "outcome_coverage": n / scored if scored else None,
            "overrides": overrides, "override_rate": overrides / n if n else None,
            "positive_outcome_rate": sum(y_true) / n if n else None,
            "mean_score": sum(scores) / n if n else None,
            "metrics": _overall(y_true, scores, threshold, policy) if n else None,
            "status": ("no_outcomes" if n == 0 else "insufficient_data"
                       if n < policy.min_group_size else "ok"),
            "fairness": None,
        }
        if n and grouped:
            kept = [r for r in mine if isinstance(r.inputs, dict)
                    and still_kept(r.inputs_expire_at, now) and all(c in r.inputs for c in grouped)]
            fair: dict[str, Any] = {"rows": len(kept), "rows_without_inputs": n - len(kept)}
            if kept:
                frame = pd.DataFrame([r.inputs for r in kept])
                try:
                    audit = fairness.run_audit(
                        [_positive(r.outcome, positives) for r in kept],
                        [float(r.score) for r in kept],
                        frame[protected] if protected else pd.DataFrame(
                            {_ALL: [_ALL] * len(kept)}),
                        threshold=threshold, rules=rules,
                        extra_groupings=frame[extras] if extras else None)
                    if not protected:
                        audit["groupings"].pop(_ALL, None)
                    fair.update(verdict=audit["verdict"], reasons=audit["reasons"],
                                groupings=audit["groupings"])
                except ValueError as exc:
                    fair.update(verdict="insufficient_data",
                                reasons=[f"the groups cannot be formed: {exc}"], groupings={})
            else:
                fair.update(verdict="insufficient_data", groupings={},
                            reasons=["no receipt in this window still keeps its inputs"])
            window["fairness"] = fair
        out_windows.append(window)

    if grouped:
        groups_note = (f"audited by {', '.join(grouped)}: model features, so kept in the "
                       "receipts' inputs")
    else:
        groups_note = "fairness by group is not measured: "
        groups_note += (
            f"the protected attributes ({', '.join(protected_absent)}) are not model inputs, so "
            "score receipts do not keep them" if protected_absent
            else "the version's datasets flag no protected attribute and it has no bias audit")
    if grouped and policy.retain_inputs_days == 0:
        groups_note += "; but the policy keeps no inputs, so no window can be grouped"
    elif grouped:
        groups_note += (f"; inputs are erased after {policy.retain_inputs_days} days, so older "
                        "windows cannot be grouped")
    audit = session.scalars(select(BiasAudit).where(BiasAudit.model_version_id == version.id)
                            .order_by(BiasAudit.id.desc())).first()
    return {
        "model": version.model.name, "version": version.number, "threshold": threshold,
        "window_days": window_days, "windows": out_windows,
        "label": {
            "positive_outcomes": labels,
            "definition": (
                "a receipt's outcome (the caseworker's final decision) is the positive class when "
                f"it equals {' or '.join(repr(p) for p in labels)}, ignoring case; the "
                f"prediction is score >= {threshold:g}; receipts without an outcome are left out"),
        },
        "groups": {
            "audited": grouped, "not_kept": [*protected_absent, *extras_absent],
            "note": groups_note,
        },
        "audit_baseline": None if audit is None else {
            "audit_id": audit.id, "verdict": audit.verdict, "dataset_id": audit.dataset_id,
            "overall": audit.results.get("overall")},
        "min_group_size": policy.min_group_size,
    }
