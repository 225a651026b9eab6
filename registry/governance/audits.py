"""Bias audits: the evidence of fairness the gates read, recorded with its inputs' hashes.

An audit runs in three steps, so that a background job holds no database transaction (on
SQLite, the write lock) while the model and fairlearn run:

1. ``plan_bias_audit`` reads and validates everything it needs, writing nothing;
2. ``compute_bias_audit`` scores and measures, touching no database;
3. ``record_bias_audit`` writes the audit and its ledger entry in the caller's transaction.

``run_bias_audit`` does the three in one go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..platform.storage import FileStore
from ..records import BiasAudit, Dataset, ModelVersion
from . import audit_gate, evidence, ledger
from .actors import Actor
from .errors import Invalid
from .permissions import require
from .policy import Policy
from .samples import read_dataset
from .versions import ModelRef

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..analysis.fairness import FairnessRules


def fairness_rules(policy: Policy) -> FairnessRules:
    """The policy's fairness limits, minimum group size and small-group rule, bands and proxy
    threshold."""
    from ..analysis.fairness import FairnessRules, MetricLimit

    return FairnessRules(
        limits=tuple(MetricLimit(lim.metric, lim.min, lim.max)
                     for lim in policy.fairness_limits),
        min_group_size=policy.min_group_size, bands=dict(policy.fairness_bands),
        proxy_threshold=policy.proxy_threshold, small_groups=policy.small_groups)


@dataclass
class AuditPlan:
    """A validated audit request with its data, ready to compute without the database."""

    version_id: int
    dataset_id: int
    label_column: str
    positive_label: str
    threshold: float
    sensitive: list[str]
    intersections: list[tuple[str, ...]]
    extra_groupings: list[str]
    proxy_candidates: list[str]
    model: ModelRef
    data_hash: str
    frame: pd.DataFrame
    y_true: np.ndarray
    rules: FairnessRules
    policy_name: str
    policy_version: str


def audited_attributes(version: ModelVersion, dataset: Dataset,
                       sensitive_features: list[str] | None) -> list[str]:
    """Every attribute the evaluation dataset flags as protected, then any the request adds.

    The audit's coverage is not the submitter's choice: a request that would leave out a
    protected attribute, or audit other than an evaluation dataset, is refused (Invalid)."""
    problems: dict[str, list[str]] = {}
    if dataset.id not in version.evaluation_dataset_ids:
        problems["dataset_id"] = [f"{dataset.label} is not an evaluation dataset of "
                                  f"{version.label}; audit on one of its evaluation datasets"]
    protected = dataset.protected_attributes
    requested = list(sensitive_features or [])
    dropped = [a for a in protected if requested and a not in requested]
    if dropped:
        problems["sensitive_features"] = [
            f"the request leaves out {audit_gate.either(dropped)}, which {dataset.label} flags "
            "as protected: the audit covers every protected attribute (you may add others)"]
    if problems:
        raise Invalid("the audit request has invalid fields", problems)
    return [*protected, *(a for a in requested if a not in protected)]


def plan_bias_audit(session: Session, actor: Actor, version: ModelVersion, dataset: Dataset, *,
                    label_column: str, positive_label: str, threshold: float,
                    sensitive_features: list[str] | None, extra_groupings: list[str],
                    policy: Policy, store: FileStore) -> AuditPlan:
    """Check the request field by field and read the data; writes nothing."""
    actor = actor.within(version.organisation_id)  # the roles held in its organisation
    require(actor, "audit")
    evidence.arrival_status(actor, version, "bias audit")  # refused early, before any work
    if not dataset.data_path:
        raise Invalid(f"{dataset.label} has no uploaded data", {"dataset_id": ["no data"]})
    columns = {c.name for c in dataset.columns}
    sensitive = audited_attributes(version, dataset, sensitive_features)
    extra_groupings = list(extra_groupings)
    problems: dict[str, list[str]] = {}
    if label_column not in columns:
        problems["label_column"] = [f"{label_column!r} is not a column of {dataset.label}"]
    if not sensitive:
        problems["sensitive_features"] = [f"{dataset.label} flags no protected attributes; "
                                          "name the sensitive features"]
    for field, names in (("sensitive_features", sensitive), ("extra_groupings", extra_groupings)):
        unknown = [n for n in names if n not in columns]
        if unknown:
            problems[field] = [f"not columns of {dataset.label}: {', '.join(unknown)}"]
    both = sorted(set(sensitive) & set(extra_groupings))
    if both:
        problems["extra_groupings"] = [f"already sensitive features: {', '.join(both)}"]
    if problems:
        raise Invalid("the audit request has invalid fields", problems)
    frame = read_dataset(dataset, store)
    y_true = (frame[label_column].astype(str) == str(positive_label)).to_numpy().astype(int)
    if y_true.sum() == 0:
        raise Invalid(f"no row has {label_column} = {positive_label!r}",
                      {"positive_label": ["never occurs in the data"]})
    missing = [f["name"] for f in version.feature_schema if f["name"] not in frame]
    if missing:
        raise Invalid(f"{dataset.label} lacks features the model needs: {', '.join(missing)}",
                      {"dataset_id": [f"missing features: {missing}"]})
    # Proxies: any model feature or extra grouping strongly associated with a protected attribute.
    candidates = [f["name"] for f in version.feature_schema if f["name"] not in sensitive]
    candidates += [c for c in extra_groupings if c not in candidates]
    return AuditPlan(
        version_id=version.id, dataset_id=dataset.id, label_column=label_column,
        positive_label=str(positive_label), threshold=float(threshold), sensitive=sensitive,
        intersections=policy.required_intersections(sensitive), extra_groupings=extra_groupings,
        proxy_candidates=candidates,
        model=ModelRef.of(version, policy), data_hash=dataset.content_hash or "", frame=frame,
        y_true=y_true, rules=fairness_rules(policy), policy_name=policy.name,
        policy_version=policy.version)


def compute_bias_audit(plan: AuditPlan, store: FileStore) -> dict[str, Any]:
    """Score the data with the model and audit the decisions (score >= threshold) by group."""
    from ..analysis import fairness

    frame = plan.frame
    scores = plan.model.scores(frame, store)
    try:
        results = fairness.run_audit(
            plan.y_true, scores, frame[plan.sensitive].copy(), threshold=plan.threshold,
            rules=plan.rules, intersections=plan.intersections,
            extra_groupings=frame[plan.extra_groupings].copy() if plan.extra_groupings else None)
        results["proxies"] = fairness.find_proxies(
            frame, plan.sensitive, plan.proxy_candidates, threshold=plan.rules.proxy_threshold,
            bands=plan.rules.bands)
    except ValueError as exc:
        raise Invalid(f"the audit cannot run: {exc}", {"sensitive_features": [str(exc)]}) from exc
    return results


def record_bias_audit(session: Session, actor: Actor, plan: AuditPlan, results: dict[str, Any],
                      now: datetime) -> BiasAudit:
    """Store the audit and its ledger entry (with the hashes of model, data and result).

    On a version not yet in use it is in force at once; on one in use it is a proposal an
    officer decides (see :mod:`.evidence`)."""
    version = session.get(ModelVersion, plan.version_id)
    assert version is not None
    status = evidence.arrival_status(actor, version, "bias audit")  # the state may have moved
    audit = BiasAudit(
        model_version_id=plan.version_id, dataset_id=plan.dataset_id,
        label_column=plan.label_column, positive_label=plan.positive_label,
        threshold=plan.threshold, sensitive_features=plan.sensitive,
        extra_groupings=plan.extra_groupings, results=results, verdict=results["verdict"],
        reasons=results["reasons"], model_sha256=plan.model.sha256, data_hash=plan.data_hash,
        policy_name=plan.policy_name, policy_version=plan.policy_version, status=status,
        created_by_id=actor.user_id, created_at=now)
    session.add(audit)
    session.flush()
    if status == "in_force":
        evidence.take_in_force(session, audit)
    ledger.append(session, actor, "bias_audit", "model_version", plan.version_id, {
        "audit_id": audit.id, "verdict": audit.verdict, "reasons": audit.reasons,
        "model_sha256": audit.model_sha256, "data_hash": audit.data_hash,
        "results_hash": ledger.sha256(results), "status": audit.status}, now)
    return audit


def run_bias_audit(session: Session, actor: Actor, version: ModelVersion, dataset: Dataset, *,
                   label_column: str, positive_label: str, threshold: float,
                   sensitive_features: list[str] | None, extra_groupings: list[str],
                   policy: Policy, store: FileStore, now: datetime) -> BiasAudit:
    """Audit the version's decisions at `threshold` on a labelled dataset, under the policy."""
    plan = plan_bias_audit(session, actor, version, dataset, label_column=label_column,
                           positive_label=positive_label, threshold=threshold,
                           sensitive_features=sensitive_features,
                           extra_groupings=extra_groupings, policy=policy, store=store)
    return record_bias_audit(session, actor, plan, compute_bias_audit(plan, store), now)
