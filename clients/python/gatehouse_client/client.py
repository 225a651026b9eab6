"""The records a data scientist registers, and the calls an officer makes on them.

Every method takes the API's fields as explicit parameters; a parameter left as None is not
sent, so the server's default (or the policy's) stands. Allowed values are those of the service's
policy where it says so (purposes, legal bases); the fixed vocabularies are listed here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import Gate, GatehouseError
from .transport import Key, Transport, given, ids, to_json

if TYPE_CHECKING:
    import pandas as pd


class Records(Transport):
    """Agreements, datasets, DPIAs, models and versions; gates and decisions."""

    def register_agreement(
        self, reference: str, title: str, provider: str, recipient: str, legal_basis: str, *,
        purposes: list[str], stages: Mapping[str, list[str]] | None = None,
        controllers: list[str] | None = None, special_category: bool = False,
        art9_condition: str | None = None, statutory_gateway: str | None = None,
        data_categories: list[str] | None = None, start_date: date | str | None = None,
        end_date: date | str | None = None, review_date: date | str | None = None,
        retention: str | None = None, signatories: list[Mapping[str, str]] | None = None,
    ) -> dict[str, Any]:
        """A data sharing agreement; returns the record.

        ``legal_basis``: consent, contract, legal_obligation, vital_interests, public_task or
        legitimate_interests (GDPR Art. 6(1)). ``purposes``: the policy's purposes it permits;
        ``stages`` maps each to what it covers: development, use, fairness_audit (e.g.
        ``{"credit_risk_research": ["development", "use"]}``). ``art9_condition`` is needed with
        ``special_category``. ``signatories``: ``{"name", "role", "organisation"}`` each."""
        return self.post("/api/v1/agreements", given(
            reference=reference, title=title, provider=provider, recipient=recipient,
            legal_basis=legal_basis, purposes=purposes, stages=stages, controllers=controllers,
            special_category=special_category, art9_condition=art9_condition,
            statutory_gateway=statutory_gateway, data_categories=data_categories,
            start_date=start_date, end_date=end_date, review_date=review_date,
            retention=retention, signatories=signatories))

    def register_dataset(
        self, name: str, title: str, classification: str, purpose: str, *,
        frame: pd.DataFrame | None = None, data: bytes | None = None,
        columns: list[dict[str, Any]] | None = None, protected: Iterable[str] = (),
        descriptions: Mapping[str, str] | None = None, agreements: Iterable[Key] = (),
        label_column: str | None = None, description: str | None = None,
        data_owner: str | None = None, steward: str | None = None,
        no_protected_justification: str | None = None,
    ) -> dict[str, Any]:
        """A dataset, with its rows if ``frame`` (a data frame) or ``data`` (CSV or Parquet
        bytes) is given; returns the record.

        ``name``: 2-80 lower-case letters, digits, - or _. ``classification``: personal,
        special_category, pseudonymised, anonymised, synthetic or non_personal. ``columns``:
        ``{"name", "type", "description", "protected", "proxy", "identifier", "suppressed",
        "nullable", "allowed", "minimum", "maximum"}`` each, type one of integer, number,
        category, boolean, date, string; inferred from ``frame`` if not given (see
        :func:`gatehouse_client.infer_columns`, ``protected`` and ``descriptions`` marking
        columns). ``agreements``: the agreements (ids or records) the data comes under."""
        if columns is None:
            if frame is None:
                raise ValueError("give columns, or a frame to infer them from")
            from .frames import infer_columns

            columns = infer_columns(frame, protected=protected, descriptions=descriptions)
        record = self.post("/api/v1/datasets", given(
            name=name, title=title, classification=classification, purpose=purpose,
            columns=columns, agreement_ids=ids(list(agreements)), label_column=label_column,
            description=description, data_owner=data_owner, steward=steward,
            no_protected_justification=no_protected_justification))
        rows = frame if frame is not None else data
        return record if rows is None else self.upload_data(record["id"], rows)

    def upload_data(self, dataset: Key, data: pd.DataFrame | bytes,
                    filename: str = "data.csv") -> dict[str, Any]:
        """Upload a dataset's rows: a data frame (sent as CSV) or a CSV / Parquet file's bytes."""
        content = data if isinstance(data, bytes) else data.to_csv(index=False).encode()
        return self.multipart("PUT", f"/api/v1/datasets/{ids(dataset)[0]}/data",
                              {"file": (filename, content)})

    def register_dpia(
        self, reference: str, title: str, *, dataset_ids: Iterable[Key] = (),
        model_names: Iterable[str] = (), need: str | None = None,
        processing: str | None = None, consultation: str | None = None,
        necessity: str | None = None, risks: list[Mapping[str, Any]] | None = None,
        measures_approved_by_id: int | None = None,
        residual_risk_approved_by_id: int | None = None,
        prior_consultation: str | None = None, review_date: date | str | None = None,
    ) -> dict[str, Any]:
        """A DPIA (the ICO's seven steps) over datasets and models registered already; returns
        the record. ``risks``: ``{"description", "likelihood", "severity", "measure", "effect",
        "residual_likelihood", "residual_severity"}`` each, likelihood and severity 1-3,
        effect eliminated, reduced or accepted. ``measures_approved_by_id`` and
        ``residual_risk_approved_by_id``: the user ids of the governance officer or DPO of the
        organisation who signed them off (``me()["id"]`` on their client)."""
        return self.post("/api/v1/dpias", given(
            reference=reference, title=title, dataset_ids=ids(list(dataset_ids)),
            model_names=list(model_names), need=need, processing=processing,
            consultation=consultation, necessity=necessity, risks=risks,
            measures_approved_by_id=measures_approved_by_id,
            residual_risk_approved_by_id=residual_risk_approved_by_id,
            prior_consultation=prior_consultation, review_date=review_date))

    def dpo_advice(self, dpia: Key, advice: str) -> dict[str, Any]:
        """The DPO's advice on a DPIA (a DPO's token)."""
        return self.post(f"{self.path('dpia', dpia)}/dpo-advice", {"advice": advice})

    def respond_to_advice(self, dpia: Key, accepted: bool, reason: str) -> dict[str, Any]:
        """Accept or overrule the DPO's advice, with the reason."""
        return self.post(f"{self.path('dpia', dpia)}/advice-response",
                         {"accepted": accepted, "reason": reason})

    def register_model(
        self, name: str, title: str, purpose: str, purpose_class: str, *,
        purpose_description: str | None = None, decision_role: str | None = None,
        builder: str | None = None, supplier: str | None = None,
        business_owner: str | None = None, technical_owner: str | None = None,
        maintenance_owner: str | None = None, code_owner: str | None = None,
        weights_owner: str | None = None, data_owner: str | None = None,
        exit_terms: str | None = None, art22_basis: str | None = None,
        population: str | None = None, people_scored_per_year: int | None = None,
        vulnerable_groups: bool | None = None, benefit: str | None = None,
        benefit_measure: str | None = None, summary: str | None = None,
        outcome_vocabulary: list[str] | None = None,
    ) -> dict[str, Any]:
        """A predictive model; returns the record.

        ``purpose_class``: individual_case_work (scores cases; may be served) or
        aggregate_analysis (never served to a tool). ``decision_role``: advisory (default) or
        automated (needs ``art22_basis``). ``builder``: in_house (default), supplier or
        consultant (name the ``supplier``). ``outcome_vocabulary``: the outcomes a caseworker
        may report on its scores (default: the policy's accepted, overridden, no_action)."""
        return self.post("/api/v1/models", given(
            name=name, title=title, purpose=purpose, purpose_class=purpose_class,
            purpose_description=purpose_description, decision_role=decision_role,
            builder=builder, supplier=supplier, business_owner=business_owner,
            technical_owner=technical_owner, maintenance_owner=maintenance_owner,
            code_owner=code_owner, weights_owner=weights_owner, data_owner=data_owner,
            exit_terms=exit_terms, art22_basis=art22_basis, population=population,
            people_scored_per_year=people_scored_per_year, vulnerable_groups=vulnerable_groups,
            benefit=benefit, benefit_measure=benefit_measure, summary=summary,
            outcome_vocabulary=outcome_vocabulary))

    def register_version(
        self, model: str, pipeline: Any = None, *, artefact: bytes | None = None,
        training: Key | list[Key], evaluation: Key | list[Key], background: Key | None = None,
        background_rows: int | None = None, background_seed: int | None = None,
        label_column: str | None = None, positive_label: str | None = None,
        threshold: float | None = None, stage: str | None = None, summary: str | None = None,
        bands: list[Mapping[str, Any]] | None = None, metrics: Mapping[str, Any] | None = None,
        pilot_end_date: date | str | None = None, pilot_case_cap: int | None = None,
    ) -> dict[str, Any]:
        """A new version of ``model``: the fitted ``pipeline`` saved with skops (the ``[skops]``
        extra), or a skops file's bytes as ``artefact``; returns the version.

        ``training`` and ``evaluation`` are dataset ids or records (evaluation data is not
        training data). ``background``: the dataset the explanation background is drawn from
        (default the first training dataset), ``background_rows`` rows (default 100) with
        ``background_seed`` (default 0). ``threshold``: 0-1 (default 0.5). ``stage``: pilot
        (default) or production. ``bands``: ``{"name", "below"}`` each. Gatehouse refuses
        anything but a safe skops file, then loads and explains it: see ``self_check``."""
        if (pipeline is None) == (artefact is None):
            raise ValueError("give the fitted pipeline or a skops artefact's bytes")
        if artefact is None:
            import skops.io as sio

            artefact = sio.dumps(pipeline)
        trained = ids(training)
        chosen = given(dataset_id=ids(background)[0] if background is not None else trained[0],
                       rows=background_rows, seed=background_seed)
        body = given(training_dataset_ids=trained, evaluation_dataset_ids=ids(evaluation),
                     background=chosen, label_column=label_column,
                     positive_label=positive_label, threshold=threshold, stage=stage,
                     summary=summary, bands=bands, metrics=metrics,
                     pilot_end_date=pilot_end_date, pilot_case_cap=pilot_case_cap)
        return self.multipart("POST", f"/api/v1/models/{quote(model)}/versions",
                              {"artefact": ("model.skops", artefact)},
                              {"metadata": json.dumps(body, default=to_json)})

    def me(self) -> dict[str, Any]:
        """The signed-in user: ``{"id", "email", "name", "organisation_id", "roles", ...}``."""
        return self.get("/api/v1/me")

    def get_record(self, kind: str, key: Key) -> dict[str, Any]:
        """A record: kind agreement, dataset, dpia, model or version (see :meth:`path`)."""
        return self.get(self.path(kind, key))

    def submit(self, kind: str, key: Key) -> dict[str, Any]:
        """Submit a record for approval; returns the record."""
        return self.post(f"{self.path(kind, key)}/submit")

    def gate(self, kind: str, key: Key) -> Gate:
        """What approval needs: ``ready``, ``requirements`` (``id, met, detail, remedy``) and
        ``waiting_on``; ``print()`` it for the unmet ones and what to do."""
        return Gate(self.get(f"{self.path(kind, key)}/gate"))

    def decide(self, kind: str, key: Key, decision: str, rationale: str, *,
               conditions: str | None = None, approved_until: date | str | None = None
               ) -> dict[str, Any]:
        """An officer's decision: approve, reject, request_changes, suspend, reinstate or
        retire. ``approved_until`` (approve, reinstate) shortens the policy's lease."""
        return self.post(f"{self.path(kind, key)}/decisions", given(
            decision=decision, rationale=rationale, conditions=conditions,
            approved_until=approved_until))

    def wait_for_job(self, job_id: str, *, timeout: float = 900.0, poll: float = 0.5
                     ) -> dict[str, Any]:
        """Poll a background job until it succeeds (returned) or fails (GatehouseError)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"/api/v1/jobs/{quote(job_id)}")
            if job["state"] == "succeeded":
                return job
            if job["state"] == "failed":
                raise GatehouseError(500, "job_failed", job.get("error") or "the job failed",
                                     {"job": [job.get("error") or "failed"]})
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job['state']} after {timeout:g} s")
            time.sleep(poll)
