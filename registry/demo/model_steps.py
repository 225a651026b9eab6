"""The demo's model versions and their evidence: each fitted on its training data, registered,
audited for bias on its held-out data (groups too small to assess waived by an officer, by name)
and watched for drift, through the same governance functions as the API. `Demo` takes these
steps (:mod:`.council`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import skops.io as sio
from sqlalchemy.orm import Session

from ..governance import audits, evidence, gaps, monitoring, versions, waivers
from ..governance.actors import Actor
from ..governance.evidence import in_force_audit
from ..platform.services import Services
from ..records import Dataset, ModelVersion, PredictiveModel
from ..usecases.inputs import VersionIn
from .fitting import fit_demo_model
from .spec import DemoDataset
from .staff import REGISTRAR


class ModelSteps:
    """A version's steps, on the council being loaded (its session, staff and summary lines)."""

    session: Session
    services: Services
    now: datetime
    today: date
    people: dict[str, Actor]
    lines: list[str]
    held_out: dict[int, tuple[Dataset, DemoDataset]]

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def version(
        self,
        model: PredictiveModel,
        ds: DemoDataset,
        dataset: Dataset,
        stage: str,
        threshold: float,
        audit_by: list[str],
    ) -> ModelVersion:
        """Fit a gradient-boosting model on the training part of ``ds``, register it as the next
        version of ``model`` (explained against 500 training rows), audit it for bias on the
        held-out part across every protected attribute and ``audit_by``, and watch it for drift
        against the held-out part. Groups too small to assess are waived by an officer, by name,
        where everything assessed passed."""
        held_out, held_ds = self.held_out[dataset.id]
        pipeline, _ = fit_demo_model(replace(ds, frame=ds.frame.loc[~ds.frame.index.isin(
            held_ds.frame.index)]))
        metadata = {
            "training_dataset_ids": [dataset.id],
            "evaluation_dataset_ids": [held_out.id],
            "background": {"dataset_id": dataset.id, "rows": 500, "seed": 0},
            "label_column": ds.label,
            "positive_label": ds.positive_label,
            "threshold": threshold,
            "stage": stage,
            "summary": f"{model.title}: a score from 0 to 1 for each case.",
        }
        if stage == "pilot":
            metadata.update(pilot_end_date=self.day(90), pilot_case_cap=2000)
        version = versions.register(
            self.session,
            self.people[REGISTRAR],
            model,
            registration_schema(metadata),
            sio.dumps(pipeline),
            self.services.store,
            self.services.policy,
            self.now,
        )
        audit = audits.run_bias_audit(
            self.session,
            self.people[REGISTRAR],
            version,
            held_out,
            label_column=ds.label or "",
            positive_label=ds.positive_label or "yes",
            threshold=threshold,
            sensitive_features=list(dict.fromkeys([*held_out.protected_attributes, *audit_by])),
            extra_groupings=[],
            policy=self.services.policy,
            store=self.services.store,
            now=self.now,
        )
        monitoring.configure_monitor(
            self.session,
            self.people[REGISTRAR],
            version,
            dataset=held_out,
            columns=None,
            action="suspend",
            every_receipts=None,
            daily=True,
            policy=self.services.policy,
            store=self.services.store,
            now=self.now,
        )
        self.lines.append(f"  {version.label}: bias audit {audit.verdict}")
        self.waive_small_groups(version)
        return version

    def check_drift(self, version: ModelVersion) -> None:
        """Check the inputs kept from the version's receipts against its monitor's reference,
        as `gatehouse monitors run` would, and say what was found."""
        monitor = evidence.in_force_monitor(self.session, version)
        assert monitor is not None
        batch = monitoring.receipts_batch(self.session, monitor, monitor.every_receipts or 500,
                                          self.now)
        check = monitoring.run_drift_check(self.session, self.people[REGISTRAR], monitor, batch,
                                           "receipts", self.services.policy,
                                           self.services.store, self.now)
        drifted = [c["column"] for c in check.columns if c["drifted"]]
        self.lines.append(f"  {version.label}: drift check of {check.rows} receipts: "
                          + (f"drift in {', '.join(drifted)}" if drifted else "no drift")
                          + (" (a breach)" if check.drifted else ""))

    def waive_small_groups(self, version: ModelVersion) -> None:
        """The officer waives the groups the audit could not assess, recording why. (A waiver
        answers for those groups only: a version whose audit fails elsewhere stays held back.)"""
        if in_force_audit(self.session, version) is None:
            return
        for gap in gaps.find(self.session, version, self.services.policy, "small_groups"):
            waivers.record(
                self.session, self.people["olivia.okafor"], version, self.services.policy,
                self.now, "small_groups", gap.outstanding,
                "Too few of these people in the held-out data to judge; the service reviews "
                "their referrals by hand and the next audit pools a second year of data.")
            self.lines.append(f"  {version.label}: groups not assessed, waived by an officer: "
                              + ", ".join(gap.outstanding))


def registration_schema(metadata: dict[str, Any]) -> dict[str, Any]:
    """Fill the defaults the input schema gives (as the API and the web would)."""
    return VersionIn().load(
        {k: (str(v) if isinstance(v, date) else v) for k, v in metadata.items()}
    )
