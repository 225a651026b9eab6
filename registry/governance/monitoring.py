"""Drift monitors and their checks: the evidence the gates read, recorded with its inputs' hashes.

A drift check runs in three steps, so that a background job holds no database transaction (on
SQLite, the write lock) while the model and evidently run:

1. ``plan_drift_check`` reads and validates everything it needs from the database and the
   file store, writing nothing;
2. ``compute_drift_check`` scores and measures, touching no database;
3. ``record_drift_check`` writes the result, its ledger entry and any breach, all in the
   caller's transaction: if anything fails the caller rolls back and no half-written check
   remains (a report file already written is removed).

``run_drift_check`` does the three steps in one go. A check that cannot run (any error in the
first two steps) is recorded by ``record_failed_check`` in a transaction of its own: the monitor
is then *failing* until a check runs (see :mod:`.monitor_health`). Bias audits, the other
evidence, are in :mod:`.audits`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..analysis import drift
from ..platform.storage import FileStore
from ..records import Dataset, DriftCheck, DriftMonitor, ModelVersion, ScoreReceipt
from . import evidence, ledger
from .actors import SYSTEM, Actor
from .errors import Conflict, Invalid
from .lifecycle import decide
from .permissions import require
from .policy import Policy
from .retention import inputs_kept
from .samples import read_dataset
from .versions import ModelRef

if TYPE_CHECKING:
    import pandas as pd

    from ..analysis.drift import DriftResult, DriftRules



class BatchRefused(Invalid):
    """The batch itself is wrong (empty, unreadable, missing or mistyped columns). When it was
    posted, that is its sender's mistake, not the monitor's failure; when it was drawn from the
    receipts, the monitor's own data cannot be checked, and the monitor is failing."""


def configure_monitor(session: Session, actor: Actor, version: ModelVersion, *,
                      dataset: Dataset | None, columns: list[str] | None, action: str | None,
                      every_receipts: int | None, daily: bool, policy: Policy, store: FileStore,
                      now: datetime) -> DriftMonitor:
    """Store a reference sample (with the model's score) and the monitor's settings.

    The reference is the dataset given (one of the version's training or evaluation datasets),
    else the version's first evaluation dataset with data.
    Columns default to every feature plus the score (always watched); method, thresholds,
    schedule and action default to the policy's. On a version not yet in use the new monitor
    replaces the one in force; on a version in use it is a proposal an officer decides (see
    :mod:`.evidence`).
    """
    actor = actor.within(version.organisation_id)  # the roles held in its organisation
    require(actor, "monitor")
    status = evidence.arrival_status(actor, version, "drift monitor")
    # The reference is the data given, else the evaluation data: never the training data unasked.
    own = [*version.training_datasets, *version.evaluation_datasets]
    if dataset is not None and dataset.id not in {d.id for d in own}:
        # a reference from elsewhere would not show the served population moving away from
        # the data the model was fitted and validated on (nor rest on its agreements)
        raise Invalid(f"{dataset.label} is not a training or evaluation dataset of "
                      f"{version.label}: the reference is the data the model was fitted or "
                      "evaluated on", {"dataset_id": [
                          "one of " + (", ".join(str(d.id) for d in own) or "none: link the "
                                       "version's datasets first")]})
    source = dataset or next((d for d in version.evaluation_datasets if d.data_path), None)
    if source is None or not source.data_path:
        raise Invalid("the reference needs a dataset with uploaded data: give dataset_id, or "
                      "upload the data of an evaluation dataset", {"dataset_id": ["none"]})
    schema = {f["name"]: f for f in version.feature_schema}
    chosen = list(dict.fromkeys(columns or [*schema, "score"]))
    unknown = [c for c in chosen if c not in schema and c != "score"]
    if unknown:
        raise Invalid("unknown monitored columns", {"columns": [f"not features: {unknown}"]})
    if "score" not in chosen:  # the features may be chosen; the model's own output may not
        raise Invalid("a drift monitor always watches the model's score", {"columns": [
            'include "score": a change in whom the model scores high is the drift that '
            "matters most, and only the score shows it"]})
    frame = read_dataset(source, store)
    needed = [*schema] if "score" in chosen else [c for c in chosen if c != "score"]
    absent = [c for c in needed if c not in frame]
    if absent:
        raise Invalid(f"{source.label} lacks columns the reference needs",
                      {"dataset_id": [f"missing: {absent}"]})
    if len(frame) > policy.drift_reference_rows:
        frame = frame.sample(n=policy.drift_reference_rows, random_state=0)
    reference = frame[[c for c in chosen if c != "score"]].copy()
    if "score" in chosen:
        reference["score"] = ModelRef.of(version, policy).scores(frame, store)
    buffer = io.BytesIO()
    reference.to_parquet(buffer, index=False)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    if every_receipts is not None and every_receipts > policy.drift_max_every_receipts:
        raise Invalid("a check that rare would not watch the model", {"every_receipts": [
            f"{every_receipts} is more than the policy allows ({policy.drift_max_every_receipts} "
            "receipts between checks)"]})
    types = {c: "score" if c == "score" else schema[c]["type"] for c in chosen}
    numerical, categorical = drift.split_columns(types)
    monitor = DriftMonitor(
        model_version_id=version.id,
        reference_path=store.write(f"monitors/{version.id}/{digest}.parquet", data,
                                   seal=True),  # a sample of people's data
        reference_hash=digest, reference_rows=len(reference),
        columns={"numerical": numerical, "categorical": categorical, "types": types},
        method=policy.drift_method, column_threshold=policy.drift_column_threshold,
        drift_share=policy.drift_share,
        every_receipts=every_receipts or policy.drift_every_receipts, daily=daily,
        action=action or policy.drift_action, status=status, created_by_id=actor.user_id,
        created_at=now)
    session.add(monitor)
    session.flush()
    if status == "in_force":
        evidence.take_in_force(session, monitor)
    ledger.append(session, actor, "drift_monitor", "model_version", version.id, {
        "monitor_id": monitor.id, "reference_hash": digest, "reference_dataset_id": source.id,
        "columns": monitor.columns, "method": monitor.method,
        "column_threshold": monitor.column_threshold, "drift_share": monitor.drift_share,
        "every_receipts": monitor.every_receipts, "daily": monitor.daily,
        "action": monitor.action, "status": monitor.status}, now)
    return monitor


@dataclass
class DriftPlan:
    """A drift check's inputs, read and typed, ready to compute without the database."""

    monitor_id: int
    version_id: int
    source: str
    reference: pd.DataFrame
    current: pd.DataFrame  # the monitored columns, typed as the reference (no score yet if model)
    numerical: list[str]
    categorical: list[str]
    rules: DriftRules
    model: ModelRef | None  # set when the batch has no score column: the model scores it
    inputs: pd.DataFrame | None  # the batch as sent, for the model to score


def column_types(monitor: DriftMonitor, version: ModelVersion) -> dict[str, str]:
    """Each monitored column's schema type. Monitors set up before the types were stored take
    them from the version's feature schema (which is how a boolean once listed as numerical is
    now compared as a category)."""
    stored = monitor.columns.get("types")
    if stored:
        return dict(stored)
    schema = {f["name"]: f["type"] for f in version.feature_schema}
    return {c: "score" if c == "score" else schema.get(c, "category")
            for c in [*monitor.columns["numerical"], *monitor.columns["categorical"]]}


def plan_drift_check(session: Session, monitor: DriftMonitor, current: pd.DataFrame,
                     source: str, policy: Policy, store: FileStore) -> DriftPlan:
    """Read the reference, check the batch has the monitored columns; writes nothing."""
    import pandas as pd

    version = session.get(ModelVersion, monitor.model_version_id)
    assert version is not None
    types = column_types(monitor, version)
    numerical, categorical = drift.split_columns(types)
    if len(current) == 0:
        raise BatchRefused("the batch has no rows", {"batch": ["empty"]})
    missing = [c for c in types if c not in current and c != "score"]
    model = None
    if "score" in types and "score" not in current:
        model = ModelRef.of(version, policy)
        missing += [f["name"] for f in model.features
                    if f["name"] not in current and f["name"] not in missing]
    if missing:
        raise BatchRefused("the batch lacks monitored columns (or features the model needs to "
                           "score it)", {"columns": [f"missing: {missing}"]})
    if not store.exists(monitor.reference_path):  # a monitor that cannot run: failing
        raise Invalid(f"the reference data of drift monitor {monitor.id} is missing from the "
                      "file store; configure the monitor again", {"monitor": ["no reference"]})
    reference = pd.read_parquet(io.BytesIO(store.read(monitor.reference_path)))
    batch_types = {c: t for c, t in types.items() if c != "score" or model is None}
    try:
        typed_reference = drift.typed_columns(reference, types)
        typed_current = drift.typed_columns(current, batch_types)
    except KeyError as exc:
        raise Invalid(f"the monitor's reference lacks column {exc}", {"reference": [str(exc)]}
                      ) from exc
    except ValueError as exc:
        raise BatchRefused(f"the batch has columns of the wrong type: {exc}",
                           {"batch": [str(exc)]}) from exc
    rules = drift.DriftRules(method=monitor.method, column_threshold=monitor.column_threshold,
                             drift_share=monitor.drift_share,
                             html_max_bytes=policy.drift_report_max_bytes)
    return DriftPlan(monitor.id, version.id, source, typed_reference, typed_current, numerical,
                     categorical, rules, model, current if model is not None else None)


def compute_drift_check(plan: DriftPlan, store: FileStore) -> DriftResult:
    """Score the batch if needed, then compare it with the reference, column by column."""
    current = plan.current
    if plan.model is not None and plan.inputs is not None:
        current = current.copy()
        current["score"] = plan.model.scores(plan.inputs, store)
    try:
        return drift.check_drift(plan.reference, current[[*plan.numerical, *plan.categorical]],
                                 numerical=plan.numerical, categorical=plan.categorical,
                                 rules=plan.rules)
    except ValueError as exc:
        raise Invalid(f"the drift check cannot run: {exc}", {"batch": [str(exc)]}) from exc


def breach_reason(check: DriftCheck, monitor: DriftMonitor) -> str:
    drifted = [c["column"] for c in check.columns if c["drifted"]]
    return (f"drift check {check.id} found data drift in {len(drifted)} of {len(check.columns)} "
            f"monitored columns ({', '.join(drifted)}): a share of {check.share_drifted:.2f}, "
            f"at or above the monitor's limit of {monitor.drift_share:g}")


def record_drift_check(session: Session, actor: Actor, plan: DriftPlan, result: DriftResult,
                       policy: Policy, store: FileStore, now: datetime) -> DriftCheck:
    """Store the check, its report and ledger entry; on a breach alert, or suspend at once."""
    monitor = session.get(DriftMonitor, plan.monitor_id)
    version = session.get(ModelVersion, plan.version_id)
    assert monitor is not None and version is not None
    check = DriftCheck(monitor_id=monitor.id, source=plan.source, rows=len(plan.current),
                       columns=result.columns, share_drifted=result.share_drifted,
                       drifted=result.drifted, note=result.note, created_at=now)
    session.add(check)
    session.flush()
    try:
        if result.html:  # ~4 MB of mostly evidently's inlined scripts: gzip keeps a quarter;
            # sealed, as it repeats values of the people scored
            check.report_path = store.write(f"reports/{monitor.id}/{check.id}.html.gz",
                                            gzip.compress(result.html.encode(), 6), seal=True)
        ledger.append(session, actor, "drift_check", "model_version", version.id, {
            "check_id": check.id, "monitor_id": monitor.id, "rows": check.rows,
            "share_drifted": check.share_drifted, "drifted": check.drifted,
            "drifted_columns": [c["column"] for c in check.columns if c["drifted"]],
            "source": plan.source}, now)
        if result.drifted:
            reason = breach_reason(check, monitor)
            if monitor.action == "suspend":
                monitor.in_breach = True
                if version.state == "approved":
                    decide(session, SYSTEM, version, policy, now, "suspend", reason)
            else:
                ledger.append(session, SYSTEM, "drift_alert", "model_version", version.id,
                              {"check_id": check.id, "reason": reason}, now)
        session.flush()
    except BaseException:
        if check.report_path:
            store.path(check.report_path).unlink(missing_ok=True)
        raise
    return check


def record_failed_check(session: Session, actor: Actor, monitor: DriftMonitor, source: str,
                        error: str, now: datetime) -> DriftCheck:
    """Record that a check of ``monitor`` could not run, and why, with its ledger entry.

    The caller commits it in a transaction of its own (the failed attempt's work rolled back
    first). The monitor is failing from now until a check runs (:mod:`.monitor_health`).
    """
    check = DriftCheck(monitor_id=monitor.id, source=source, rows=0, columns=[],
                       share_drifted=0.0, drifted=False, status="failed", error=error,
                       created_at=now)
    session.add(check)
    session.flush()
    ledger.append(session, actor, "drift_check_failed", "model_version",
                  monitor.model_version_id, {"check_id": check.id, "monitor_id": monitor.id,
                                             "source": source, "error": error}, now)
    return check


def report_html(store: FileStore, check: DriftCheck) -> bytes | None:
    """The check's evidently report, or None if it has none or it was deleted (retention)."""
    if not check.report_path or not store.exists(check.report_path):
        return None
    data = store.read(check.report_path)
    return gzip.decompress(data) if check.report_path.endswith(".gz") else data


def run_drift_check(session: Session, actor: Actor, monitor: DriftMonitor,
                    current: pd.DataFrame, source: str, policy: Policy, store: FileStore,
                    now: datetime) -> DriftCheck:
    """Compare a batch with the reference; a breach alerts, or suspends the version at once."""
    plan = plan_drift_check(session, monitor, current, source, policy, store)
    return record_drift_check(session, actor, plan, compute_drift_check(plan, store), policy,
                              store, now)


class NothingToCheck(Conflict):
    """No receipt keeps its inputs: there is nothing to check, which is no failure to run."""


def kept_inputs_since(session: Session, version_id: int, since: datetime, now: datetime) -> int:
    """How many receipts of the version, scored after `since`, still keep their inputs."""
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(ScoreReceipt).where(
        ScoreReceipt.model_version_id == version_id, ScoreReceipt.created_at > since,
        inputs_kept(now))) or 0


def receipts_batch(session: Session, monitor: DriftMonitor, limit: int, now: datetime
                   ) -> pd.DataFrame:
    """The inputs kept from the version's `limit` most recent score receipts."""
    import pandas as pd

    rows = session.scalars(
        select(ScoreReceipt.inputs).where(ScoreReceipt.model_version_id == monitor.model_version_id,
                                          inputs_kept(now))
        .order_by(ScoreReceipt.created_at.desc(), ScoreReceipt.id).limit(limit)).all()
    rows = [r for r in rows if r]
    if not rows:
        raise NothingToCheck("no kept inputs from score receipts to check (none scored yet, or "
                             "their inputs were erased after the retention period)",
                             {"receipts": ["none"]})
    return pd.DataFrame(rows)


def due_monitors(session: Session, now: datetime) -> list[DriftMonitor]:
    """Monitors in force whose schedule says a check is due.

    Due when at least ``every_receipts`` receipts (with kept inputs) were scored since the last
    check that ran (or since the monitor was set up), or, for a ``daily`` monitor, when a day
    has passed since then and at least one receipt was scored. A failing monitor is therefore
    tried again on every run until a check runs.
    """
    due = []
    for monitor in session.scalars(select(DriftMonitor).where(DriftMonitor.status == "in_force")
                                   .order_by(DriftMonitor.id)):
        last = session.scalars(select(DriftCheck).where(DriftCheck.monitor_id == monitor.id,
                                                        DriftCheck.status == "ok")
                               .order_by(DriftCheck.id.desc())).first()
        since = last.created_at if last else monitor.created_at
        fresh = kept_inputs_since(session, monitor.model_version_id, since, now)
        if (monitor.every_receipts and fresh >= monitor.every_receipts) or (
                monitor.daily and fresh and now - since >= timedelta(days=1)):
            due.append(monitor)
    return due
