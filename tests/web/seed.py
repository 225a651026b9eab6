"""Records for the web tests and the screenshots, made through the governance functions.

The chain agreement → dataset → DPIA → model → version is built the way the API builds it
(the same schemas load the same payloads from tests/builders.py). The evidence the analysis
layer would produce — a self-check, a bias audit, a drift monitor and its checks, score
receipts — is written as rows directly, so no model is fitted and the tests stay fast; the
bias audit's results do come from `registry.analysis.fairness.run_audit`.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.governance import dpia as dpia_rules
from registry.governance import evidence, gaps, lifecycle, overlap, registration, waivers
from registry.governance.actors import Actor
from registry.governance.people import actor_for_user
from registry.records import (
    BiasAudit,
    DriftCheck,
    DriftMonitor,
    ModelVersion,
    PredictiveModel,
    ScoreReceipt,
    User,
)
from registry.usecases import inputs as s

from .. import builders as b

PASSWORD = "{}-correct-horse"  # conftest's `api` fixture gives each person this password


def person(session: Session, name: str) -> Actor:
    user = session.scalars(select(User).where(User.email == f"{name}@northmere.gov.uk")).one()
    return actor_for_user(user)


@lru_cache(maxsize=2)
def audit_results(sensitive: tuple[str, ...] = ("sex",),
                  intersections: tuple[tuple[str, ...], ...] = (),
                  small_groups: str = "insufficient_data") -> dict[str, Any]:
    """A real `run_audit` result on german_credit for a score that treats the groups alike."""
    import numpy as np

    from registry.analysis.fairness import FairnessRules, MetricLimit, run_audit

    frame = b.credit_frame()
    y = (frame["credit"] == "good").astype(int).to_numpy()
    score = 0.45 * y + 0.55 * np.random.default_rng(3).random(len(frame))
    rules = FairnessRules(
        limits=(MetricLimit("demographic_parity_ratio", min=0.6),  # the test policy's
                MetricLimit("equalized_odds_difference", max=0.4)),
        min_group_size=30, bands={"age": (0, 25, 35, 50, 130)}, proxy_threshold=0.3,
        small_groups=small_groups)
    return run_audit(y, score, frame[list(sensitive)], threshold=0.5, rules=rules,
                     intersections=list(intersections))


def features() -> list[dict[str, Any]]:
    return [{"name": c["name"], "type": c["type"], "description": c["description"]}
            for c in b.credit_columns() if c["name"] not in b.PROTECTED | {"credit"}]


@dataclass
class Chain:
    agreement_id: int
    dataset_id: int
    dpia_id: int
    model: str
    version: int


def build(app: Flask, name: str = "credit-risk", **options: Any) -> Chain:
    """`_build`, once per test session for each set of options on a fresh database."""
    model_over = {k: v for k, v in options.items() if k not in _BUILD_OPTIONS}
    key = ("seed.build", name, repr(sorted(options.items())),
           b.chain_payloads(name, **model_over))
    return b.reuse(app, key, lambda: _build(app, name, **options))


_BUILD_OPTIONS = {"approve_version", "submit_version", "stage", "receipts", "drift_checks",
                  "hidden"}


def _build(app: Flask, name: str = "credit-risk", *, approve_version: bool = False,
           submit_version: bool = True, stage: str = "pilot", receipts: int = 0,
           drift_checks: int = 0, hidden: tuple[str, ...] = (), **model_over: Any) -> Chain:
    """An approved agreement, dataset, DPIA and model, and a version with passing evidence.

    The version is left submitted (ready for an officer) unless `approve_version`. Columns
    named in `hidden` are flagged as identifiers (and left out of the features)."""
    services = app.extensions["gatehouse"]
    policy, store = services.policy, services.store
    now = services.clock.now()
    with services.sessions() as session:
        sam, olivia, dee = (person(session, n) for n in ("sam", "olivia", "dee"))

        def approve(record: Any, by: Actor = olivia) -> None:
            registration.submit(session, sam, record, now)
            lifecycle.decide(session, by, record, policy, now, "approve",
                             "Checked against the policy; evidence complete.")

        agreement = registration.create(session, sam, "agreement",
                                        s.AgreementIn().load(b.agreement(f"DSA-{name}")), now)
        approve(agreement)
        model = registration.create(session, sam, "model",
                                    s.ModelIn().load(b.model(name, **model_over)), now)
        columns = [{**c, "identifier": c["name"] in hidden} for c in b.credit_columns()]
        dataset = registration.create(session, sam, "dataset", s.DatasetIn().load(
            b.dataset(f"{name}-data", agreement_ids=[agreement.id], columns=columns)), now)
        registration.upload_data(session, sam, dataset, "credit.csv", b.credit_csv(), store, now)
        dpia = registration.create(session, sam, "dpia", s.DpiaIn().load(
            b.dpia(f"DPIA-{name}", dataset_ids=[dataset.id], model_names=[name])), now)
        dpia_rules.record_advice(session, dee, dpia, "Proceed: audit the age and sex groups "
                                 "every quarter and publish the results.", now)
        dpia_rules.respond_to_advice(session, olivia, dpia, True,
                                     "Agreed; quarterly audits are scheduled.", now)
        approve(dpia)
        approve(dataset)
        approve(model)

        metadata: dict[str, Any] = {
            "feature_schema": [f for f in features() if f["name"] not in hidden],
            "training_dataset_ids": [dataset.id],
            "evaluation_dataset_ids": [dataset.id], "label_column": "credit",
            "background": {"dataset_id": dataset.id},
            "positive_label": "good", "threshold": 0.5, "stage": stage,
            "metrics": {"accuracy": 0.76, "precision": 0.79, "recall": 0.9, "auc": 0.78},
            "summary": "A score from 0 to 1: higher means more likely to repay.",
        }
        if stage == "pilot":
            metadata.update(pilot_end_date=b.date_str(60), pilot_case_cap=500)
        sha = hashlib.sha256(f"{name}-v1".encode()).hexdigest()
        version = registration.create(
            session, sam, "model_version", s.VersionIn().load(metadata), now, model=model,
            number=registration.next_version_number(session, model), artefact_sha256=sha,
            artefact_size=48_213)
        assert isinstance(version, ModelVersion)
        version.explainer = "tree"
        version.self_check = {"sha256": sha, "max_additivity_error": 1e-9, "latency_ms_p50": 4.2,
                              "background": {"dataset_id": dataset.id, "rows": 100, "seed": 0,
                                             "sha256": "0" * 64, "base_value": 0.7}}
        version.self_checked_at = now
        # the seed writes the self-check's findings, as it does the artefact: kept apart
        version.evaluation_overlap = {**overlap.datasets_of(version), "pairs": []}
        protected = tuple(dataset.protected_attributes)
        results = audit_results(protected, tuple(policy.required_intersections(list(protected))),
                                policy.small_groups)
        session.add(BiasAudit(
            model_version_id=version.id, dataset_id=dataset.id, label_column="credit",
            positive_label="good", threshold=0.5,
            sensitive_features=list(protected), extra_groupings=[],
            results=results, verdict=results["verdict"], reasons=results["reasons"],
            model_sha256=sha, data_hash=dataset.content_hash or "", policy_name=policy.name,
            policy_version=policy.version, created_by_id=sam.user_id, created_at=now))
        monitor = DriftMonitor(
            model_version_id=version.id, reference_path=dataset.data_path or "",
            reference_hash=dataset.content_hash or "", reference_rows=1000,
            columns={"numerical": [*b.NUMERIC, "score"], "categorical": ["purpose", "housing"]},
            method=None, column_threshold=None, drift_share=0.3, every_receipts=500,
            action="suspend", created_by_id=sam.user_id, created_at=now)
        session.add(monitor)
        session.flush()
        for i in range(drift_checks):
            share = [0.0, 0.1, 0.1, 0.2, 0.1][i % 5]
            report = store.write(f"reports/drift-{monitor.id}-{i}.html",
                                 b"<!doctype html><title>Drift report</title><h1>Drift</h1>")
            session.add(DriftCheck(
                monitor_id=monitor.id, source="receipts", rows=500, columns=[
                    {"column": "age", "drifted": False, "score": 0.2}],
                share_drifted=share, drifted=share >= 0.3, report_path=report,
                created_at=now - timedelta(days=7 * (drift_checks - i))))
        if submit_version:
            registration.submit(session, sam, version, now)
        session.flush()
        for gap in gaps.find(session, version, policy, "small_groups"):
            waivers.record(session, olivia, version, policy, now, "small_groups",
                           gap.outstanding, "Too few applicants to judge; reviewed by hand.")
        if approve_version:
            lifecycle.decide(session, olivia, version, policy, now, "approve",
                             "Evidence complete; pilot terms agreed.")
            for i in range(receipts):
                session.add(ScoreReceipt(
                    id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}-{i}")),
                    model_version_id=version.id, approval_id=version.approval_id,
                    purpose=model.purpose, inputs_hash="0" * 64, score=0.1 + (i % 9) / 10,
                    band="medium", created_at=now - timedelta(hours=i),
                    outcome="agreed" if i % 3 else "declined", overrode=(i % 5 == 0),
                    outcome_at=now - timedelta(hours=i) + timedelta(minutes=30)))
        session.commit()
        return Chain(agreement.id, dataset.id, dpia.id, name, version.number)


def draft_model(app: Flask, name: str, **over: Any) -> PredictiveModel:
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        sam = person(session, "sam")
        model = registration.create(session, sam, "model", s.ModelIn().load(
            b.model(name, **over)), services.clock.now())
        session.commit()
        return model  # type: ignore[return-value]


def version_of(session: Session, name: str = "credit-risk", number: int = 1) -> ModelVersion:
    version = registration.get(session, "model_version", (name, number))
    assert isinstance(version, ModelVersion)
    return version


_MONITOR_SETTINGS = ("reference_path", "reference_hash", "reference_rows", "columns", "method",
                     "column_threshold", "drift_share", "every_receipts", "daily", "action")
_AUDIT_SETTINGS = ("dataset_id", "label_column", "positive_label", "threshold",
                   "sensitive_features", "extra_groupings", "results", "verdict", "reasons",
                   "model_sha256", "data_hash", "policy_name", "policy_version")


def new_monitor(session: Session, version: ModelVersion, by: Actor, now: datetime,
                **over: Any) -> DriftMonitor:
    """The in-force monitor's settings changed by `over`, arriving as `configure_monitor` would
    store it: in force before use, a proposal from an owner after (Forbidden from others)."""
    current = evidence.in_force_monitor(session, version)
    assert current is not None
    monitor = DriftMonitor(
        model_version_id=version.id, **{**{k: getattr(current, k) for k in _MONITOR_SETTINGS},
                                        **over},
        status=evidence.arrival_status(by, version, "drift monitor"),
        created_by_id=by.user_id, created_at=now)
    session.add(monitor)
    session.flush()
    if monitor.status == "in_force":
        evidence.take_in_force(session, monitor)
    return monitor


def new_audit(session: Session, version: ModelVersion, by: Actor, now: datetime,
              **over: Any) -> BiasAudit:
    """The in-force audit rerun with `over` (a threshold, say), arriving as an audit job's
    result would: in force before use, a proposal from an owner after."""
    current = evidence.in_force_audit(session, version)
    assert current is not None
    audit = BiasAudit(
        model_version_id=version.id, **{**{k: getattr(current, k) for k in _AUDIT_SETTINGS},
                                        **over},
        status=evidence.arrival_status(by, version, "bias audit"),
        created_by_id=by.user_id, created_at=now)
    session.add(audit)
    session.flush()
    if audit.status == "in_force":
        evidence.take_in_force(session, audit)
    return audit


def drift_alert(session: Session, version: ModelVersion, columns: tuple[str, ...],
                now: datetime) -> DriftCheck:
    """A check that found drift in `columns` under a monitor whose action is to alert (the
    in-force monitor is switched to alerting first, as if it had always been so)."""
    monitor = evidence.in_force_monitor(session, version)
    assert monitor is not None
    monitor.action = "alert"
    check = DriftCheck(
        monitor_id=monitor.id, source="batch", rows=200,
        columns=[{"column": c, "drifted": c in columns, "score": 0.9 if c in columns else 0.1}
                 for c in ("age", "duration", "credit_amount", "housing")],
        share_drifted=len(columns) / 4, drifted=True, created_at=now)
    session.add(check)
    session.flush()
    return check
