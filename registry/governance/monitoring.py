"""Bias audits and drift monitors: the evidence the gates read, recorded with its inputs' hashes."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import BiasAudit, Dataset, DriftCheck, DriftMonitor, ModelVersion, ScoreReceipt
from ..storage import FileStore
from . import ledger
from .actors import SYSTEM, Actor
from .errors import Conflict, Invalid
from .lifecycle import decide
from .permissions import require
from .policy import Policy
from .versions import read_dataset

if TYPE_CHECKING:
    import pandas as pd

NUMERIC = ("integer", "number", "boolean")


def _scores(version: ModelVersion, frame: pd.DataFrame, store: FileStore, policy: Policy
            ) -> Any:
    from ..analysis import artefacts, prepared

    pipeline = artefacts.load_artefact(store.read(version.artefact_path or ""),
                                       expected_sha256=version.artefact_sha256 or "",
                                       extra_trusted=list(policy.trusted_types))
    return pipeline.predict_proba(prepared.model_frame(frame, version.feature_schema))[:, 1]


def run_bias_audit(session: Session, actor: Actor, version: ModelVersion, dataset: Dataset, *,
                   label_column: str, positive_label: str, threshold: float,
                   sensitive_features: list[str] | None, extra_groupings: list[str],
                   policy: Policy, store: FileStore, now: datetime) -> BiasAudit:
    """Audit the version's decisions at `threshold` on a labelled dataset, under the policy."""
    from ..analysis import fairness

    require(actor, "audit")
    if not dataset.data_path:
        raise Invalid(f"{dataset.label} has no uploaded data", {"dataset_id": ["no data"]})
    columns = {c.name for c in dataset.columns}
    sensitive = sensitive_features or dataset.protected_attributes
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
    if problems:
        raise Invalid("the audit request has invalid fields", problems)
    frame = read_dataset(dataset, store)
    y_true = (frame[label_column].astype(str) == str(positive_label)).to_numpy().astype(int)
    if y_true.sum() == 0:
        raise Invalid(f"no row has {label_column} = {positive_label!r}",
                      {"positive_label": ["never occurs in the data"]})
    rules = fairness.FairnessRules(
        limits=tuple(fairness.MetricLimit(lim.metric, lim.min, lim.max)
                     for lim in policy.fairness_limits),
        min_group_size=policy.min_group_size, bands=dict(policy.fairness_bands),
        proxy_threshold=policy.proxy_threshold)
    try:
        results = fairness.run_audit(
            y_true, _scores(version, frame, store, policy), frame[sensitive].copy(),
            threshold=threshold, rules=rules,
            extra_groupings=frame[extra_groupings].copy() if extra_groupings else None)
        features = [f["name"] for f in version.feature_schema if f["name"] not in sensitive]
        results["proxies"] = fairness.find_proxies(
            frame, list(sensitive), [c for c in features if c in frame], threshold=rules.proxy_threshold,
            bands=rules.bands)
    except ValueError as exc:
        raise Invalid(f"the audit cannot run: {exc}", {"sensitive_features": [str(exc)]}) from exc
    audit = BiasAudit(
        model_version_id=version.id, dataset_id=dataset.id, label_column=label_column,
        positive_label=str(positive_label), threshold=threshold, sensitive_features=list(sensitive),
        extra_groupings=list(extra_groupings), results=results, verdict=results["verdict"],
        reasons=results["reasons"], model_sha256=version.artefact_sha256 or "",
        data_hash=dataset.content_hash or "", policy_name=policy.name,
        policy_version=policy.version, created_by_id=actor.user_id, created_at=now)
    session.add(audit)
    session.flush()
    ledger.append(session, actor, "bias_audit", "model_version", version.id, {
        "audit_id": audit.id, "verdict": audit.verdict, "reasons": audit.reasons,
        "model_sha256": audit.model_sha256, "data_hash": audit.data_hash}, now)
    return audit


def configure_monitor(session: Session, actor: Actor, version: ModelVersion, *,
                      dataset: Dataset | None, columns: list[str] | None, action: str | None,
                      every_receipts: int | None, daily: bool, policy: Policy, store: FileStore,
                      now: datetime) -> DriftMonitor:
    """Store a reference sample (with the model's score) and the monitor's settings."""
    require(actor, "monitor")
    source = dataset or (version.evaluation_datasets or version.training_datasets or [None])[0]
    if source is None or not source.data_path:
        raise Invalid("the reference needs a dataset with uploaded data", {"dataset_id": ["none"]})
    schema = {f["name"]: f for f in version.feature_schema}
    chosen = columns or [*schema, "score"]
    unknown = [c for c in chosen if c not in schema and c != "score"]
    if unknown:
        raise Invalid("unknown monitored columns", {"columns": [f"not features: {unknown}"]})
    frame = read_dataset(source, store)
    if len(frame) > policy.drift_reference_rows:
        frame = frame.sample(n=policy.drift_reference_rows, random_state=0)
    reference = frame[[c for c in chosen if c != "score"]].copy()
    if "score" in chosen:
        reference["score"] = _scores(version, frame, store, policy)
    buffer = io.BytesIO()
    reference.to_parquet(buffer, index=False)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    for old in session.scalars(select(DriftMonitor).where(
            DriftMonitor.model_version_id == version.id, DriftMonitor.active.is_(True))):
        old.active = False
    numerical = [c for c in chosen if c == "score" or schema[c]["type"] in NUMERIC]
    monitor = DriftMonitor(
        model_version_id=version.id,
        reference_path=store.write(f"monitors/{version.id}/{digest}.parquet", data),
        reference_hash=digest, reference_rows=len(reference),
        columns={"numerical": numerical,
                 "categorical": [c for c in chosen if c not in numerical]},
        method=policy.drift_method, column_threshold=policy.drift_column_threshold,
        drift_share=policy.drift_share, every_receipts=every_receipts or policy.drift_every_receipts,
        daily=daily, action=action or policy.drift_action, created_by_id=actor.user_id,
        created_at=now)
    session.add(monitor)
    session.flush()
    ledger.append(session, actor, "drift_monitor", "model_version", version.id, {
        "monitor_id": monitor.id, "reference_hash": digest, "columns": monitor.columns,
        "action": monitor.action}, now)
    return monitor


def run_drift_check(session: Session, actor: Actor, monitor: DriftMonitor,
                    current: pd.DataFrame, source: str, policy: Policy, store: FileStore,
                    now: datetime) -> DriftCheck:
    """Compare a batch with the reference; a breach alerts, or suspends the version at once."""
    import pandas as pd

    from ..analysis import drift

    version = session.get(ModelVersion, monitor.model_version_id)
    assert version is not None
    reference = pd.read_parquet(io.BytesIO(store.read(monitor.reference_path)))
    wanted = monitor.columns["numerical"] + monitor.columns["categorical"]
    missing = [c for c in wanted if c not in current and c != "score"]
    if missing:
        raise Invalid("the batch lacks monitored columns", {"columns": [f"missing: {missing}"]})
    current = current.copy()
    if "score" in wanted and "score" not in current:
        current["score"] = _scores(version, current, store, policy)
    rules = drift.DriftRules(method=monitor.method, column_threshold=monitor.column_threshold,
                             drift_share=monitor.drift_share,
                             html_max_bytes=policy.drift_report_max_bytes)
    try:
        result = drift.check_drift(reference, current[wanted], numerical=monitor.columns["numerical"],
                                   categorical=monitor.columns["categorical"], rules=rules)
    except ValueError as exc:
        raise Invalid(f"the drift check cannot run: {exc}", {"batch": [str(exc)]}) from exc
    check = DriftCheck(monitor_id=monitor.id, source=source, rows=len(current),
                       columns=result.columns, share_drifted=result.share_drifted,
                       drifted=result.drifted, note=result.note, created_at=now)
    session.add(check)
    session.flush()
    if result.html:
        check.report_path = store.write(f"reports/{monitor.id}/{check.id}.html",
                                        result.html.encode())
    ledger.append(session, actor, "drift_check", "model_version", version.id, {
        "check_id": check.id, "rows": check.rows, "share_drifted": check.share_drifted,
        "drifted": check.drifted, "source": source}, now)
    if result.drifted:
        drifted = [c["column"] for c in result.columns if c["drifted"]]
        reason = (f"drift check {check.id} found drift in {len(drifted)} of {len(result.columns)} "
                  f"monitored columns ({', '.join(drifted)}), at or above the share "
                  f"{monitor.drift_share:g}")
        if monitor.action == "suspend":
            monitor.in_breach = True
            if version.state == "approved":
                decide(session, SYSTEM, version, policy, now, "suspend", reason)
        else:
            ledger.append(session, SYSTEM, "drift_alert", "model_version", version.id,
                          {"check_id": check.id, "reason": reason}, now)
    return check


def receipts_batch(session: Session, monitor: DriftMonitor, limit: int) -> pd.DataFrame:
    """The inputs kept from the version's most recent score receipts."""
    import pandas as pd

    rows = session.scalars(
        select(ScoreReceipt.inputs).where(ScoreReceipt.model_version_id == monitor.model_version_id,
                                          ScoreReceipt.inputs.is_not(None))
        .order_by(ScoreReceipt.created_at.desc()).limit(limit)).all()
    if not rows:
        raise Conflict("no kept inputs from score receipts to check", {"receipts": ["none"]})
    return pd.DataFrame(list(rows))
