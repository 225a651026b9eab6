"""The whole client: records, the evidence a version needs, publishing in one call, scoring."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .client import Records
from .errors import Gate
from .transport import Key, given, ids


@dataclass
class Published:
    """A version registered, audited, monitored and submitted (:meth:`Gatehouse.publish`)."""

    version: dict[str, Any]
    audit: dict[str, Any]
    monitor: dict[str, Any]
    gate: Gate

    def __str__(self) -> str:
        v = self.version
        return (f"{v['model']} v{v['number']}: {v['state']}; bias audit {self.audit['verdict']}; "
                f"drift monitor ({self.monitor['action']}) configured\n{self.gate}")


class Gatehouse(Records):
    """A connection to one Gatehouse service, acting as the owner of ``token``.

    Every refusal raises :class:`GatehouseError`, whose message names each field's problem."""

    def run_bias_audit(
        self, model: str, version: int, *, dataset: Key,
        sensitive_features: list[str] | None = None, label_column: str | None = None,
        positive_label: str | None = None, threshold: float | None = None,
        extra_groupings: list[str] | None = None, wait: bool = True, timeout: float = 900.0,
    ) -> dict[str, Any]:
        """Audit a version's fairness (fairlearn) on one of its evaluation datasets; waits and
        returns the audit (or, with ``wait=False``, the job). ``sensitive_features``: at least
        every column the dataset flags as protected (the default); the policy adds its
        intersections. ``threshold``: 0-1, default the version's."""
        job = self.post(f"{self.path('version', (model, version))}/bias-audits", given(
            dataset_id=ids(dataset)[0], sensitive_features=sensitive_features,
            label_column=label_column, positive_label=positive_label, threshold=threshold,
            extra_groupings=extra_groupings))
        if not wait:
            return job
        done = self.wait_for_job(job["id"], timeout=timeout)
        return self.get(f"/api/v1/bias-audits/{done['result_id']}")

    def configure_drift_monitor(
        self, model: str, version: int, *, action: str | None = None,
        dataset: Key | None = None, columns: list[str] | None = None,
        every_receipts: int | None = None, daily: bool = False,
    ) -> dict[str, Any]:
        """Watch a version's inputs for drift. ``action``: alert or suspend (default the
        policy's); ``dataset``: the reference (default its first evaluation dataset);
        ``columns`` (default every feature and "score"; "score", the model's output, must be
        among them); check after ``every_receipts`` scored cases
        and/or ``daily``."""
        return self.post(f"{self.path('version', (model, version))}/drift-monitor", given(
            action=action, dataset_id=ids(dataset)[0] if dataset is not None else None,
            columns=columns, every_receipts=every_receipts, daily=daily))

    def publish(
        self, model: str, pipeline: Any = None, *, artefact: bytes | None = None,
        training: Key | list[Key], evaluation: Key | list[Key],
        label_column: str | None = None, positive_label: str | None = None,
        threshold: float | None = None, stage: str | None = None, summary: str | None = None,
        monitor_action: str | None = None, every_receipts: int | None = None,
        daily: bool = False, submit: bool = True,
    ) -> Published:
        """A fitted pipeline to "submitted, with audit and monitor configured" in one call:
        register the version (see :meth:`register_version`), audit it on the first evaluation
        dataset, configure its drift monitor (see :meth:`configure_drift_monitor`) and submit
        it. The result's ``gate`` says what the officers still need."""
        version = self.register_version(
            model, pipeline, artefact=artefact, training=training, evaluation=evaluation,
            label_column=label_column, positive_label=positive_label, threshold=threshold,
            stage=stage, summary=summary)
        number = version["number"]
        audit = self.run_bias_audit(model, number, dataset=ids(evaluation)[0])
        monitor = self.configure_drift_monitor(model, number, action=monitor_action,
                                               every_receipts=every_receipts, daily=daily)
        if submit:
            version = self.submit("version", (model, number))
        return Published(version, audit, monitor, self.gate("version", (model, number)))

    # --- people and tools -------------------------------------------------------------------

    def create_client(self, name: str, models: list[str], purposes: list[str], *,
                      organisation_id: int | None = None) -> dict[str, Any]:
        """An API client for a frontline tool (an administrator's token); the answer's
        ``token`` is shown once. Refused, naming why, for a model that cannot be served for
        the purpose (unknown, aggregate analysis, another purpose, no agreement granting use)."""
        return self.post("/api/v1/clients", given(
            name=name, models=models, purposes=purposes, organisation_id=organisation_id))

    # --- serving ----------------------------------------------------------------------------

    def input_schema(self, model: str) -> dict[str, Any]:
        """What a case must hold: each feature's type, description, allowed categories,
        range and whether it may be missing (a client allowed the model, or a reader)."""
        return self.get(f"/api/v1/models/{quote(model)}/schema")

    def score(self, model: str, purpose: str, features: Mapping[str, Any] | None = None, *,
              instances: list[Mapping[str, Any]] | None = None,
              version: int | None = None) -> dict[str, Any]:
        """Score one case (``features``) or a batch (``instances``) with explanations; each
        result carries its receipt id. Needs an API client's token."""
        if (features is None) == (instances is None):
            raise ValueError("give features (one case) or instances (a batch)")
        body: dict[str, Any] = {"purpose": purpose}
        if features is not None:
            body["features"] = dict(features)
        else:
            body["instances"] = [dict(i) for i in instances or []]
        if version is not None:
            body["version"] = version
        return self.post(f"/api/v1/models/{quote(model)}/score", body)

    def record_outcome(self, receipt_id: str, outcome: str, *, overrode: bool | None = None,
                       reason: str | None = None) -> dict[str, Any]:
        """What the caseworker finally decided on a scored case: ``outcome`` is one of the
        model's outcomes (``schema(model)["outcomes"]``; by default accepted, overridden,
        no_action); ``overrode`` defaults to whether it is "overridden"; an override needs the
        caseworker's ``reason``."""
        return self.post(f"/api/v1/receipts/{quote(receipt_id)}/outcome",
                         given(outcome=outcome, overrode=overrode, reason=reason))

    def correct_outcome(self, receipt_id: str, outcome: str, correction_reason: str, *,
                        overrode: bool | None = None, reason: str | None = None
                        ) -> dict[str, Any]:
        """Correct a wrong outcome report, saying why (``correction_reason``); the receipt's
        ``outcome_history`` keeps every report."""
        return self.post(f"/api/v1/receipts/{quote(receipt_id)}/outcome/corrections",
                         given(outcome=outcome, overrode=overrode, reason=reason,
                               correction_reason=correction_reason))
