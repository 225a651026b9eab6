"""Northmere Borough Council, the demo's fictional council: its staff, and the governance steps
every demo use case takes, made through the same functions as the API so that the gates do
their work.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from sqlalchemy.orm import Session

from ..governance import dpia as dpia_rules
from ..governance import lifecycle, people, registration
from ..governance.actors import OPERATOR, Actor
from ..governance.errors import GovernanceError
from ..platform.services import Services
from ..records import DPIA, Dataset, DataSharingAgreement, PredictiveModel
from .model_steps import ModelSteps
from .spec import DemoDataset
from .staff import COUNCIL as COUNCIL  # the council's name and staff, importable from here too
from .staff import DEMO_PASSWORD as DEMO_PASSWORD
from .staff import INSIGHT_TEAM, REGISTRAR
from .staff import STAFF as STAFF


def risk(
    description: str, measure: str, effect: str, before: tuple[int, int], after: tuple[int, int]
) -> dict[str, Any]:
    """A DPIA risk, with its (likelihood, severity) before and after the measure."""
    return {
        "description": description,
        "likelihood": before[0],
        "severity": before[1],
        "measure": measure,
        "effect": effect,
        "residual_likelihood": after[0],
        "residual_severity": after[1],
    }


class Demo(ModelSteps):
    """The council being loaded: its staff, their API tokens, and the summary lines so far."""

    def __init__(self, session: Session, services: Services) -> None:
        self.session, self.services = session, services
        self.now = services.clock.now()
        self.today = self.now.date()
        self.people: dict[str, Actor] = {}
        self.tokens: dict[str, str] = {}
        self.lines: list[str] = []
        # each dataset's held-out part: the rows its models are evaluated on, never trained on
        self.held_out: dict[int, tuple[Dataset, DemoDataset]] = {}

    # --- records through the governance layer -------------------------------------------------
    def create(self, kind: str, data: dict[str, Any]) -> Any:
        return registration.create(self.session, self.people[REGISTRAR], kind, data, self.now)

    def submit(self, record: Any) -> None:
        registration.submit(self.session, self.people[REGISTRAR], record, self.now)

    def approve(self, record: Any, rationale: str, by: str = "olivia.okafor") -> bool:
        """Submit ``record`` and have ``by`` approve it; a refusal is reported, not raised, as
        the demo shows gates holding records back."""
        if isinstance(record, Dataset) and record.id in self.held_out:
            self.approve(self.held_out[record.id][0], rationale, by)
        self.submit(record)
        try:
            lifecycle.decide(
                self.session,
                self.people[by],
                record,
                self.services.policy,
                self.now,
                "approve",
                rationale,
            )
            return True
        except GovernanceError as exc:
            unmet = (exc.details or {}).get("unmet") if isinstance(exc.details, dict) else None
            why = "; ".join(r["detail"] for r in unmet) if unmet else exc.message
            self.lines.append(f"  {record.label}: approve refused — {why[:300]}")
            return False

    def staff(self) -> None:
        org = people.ensure_organisation(self.session, OPERATOR, COUNCIL, self.now)
        for handle, (name, roles) in STAFF.items():
            user, token = people.create_user(
                self.session,
                OPERATOR,
                {
                    "email": f"{handle}@northmere.gov.uk",
                    "name": name,
                    "roles": roles,
                    "organisation_id": org.id,
                },
                self.now,
                password=DEMO_PASSWORD,
            )
            self.people[handle] = people.actor_for_user(user)
            self.tokens[handle] = token

    def agreement(
        self,
        reference: str,
        title: str,
        provider: str,
        purposes: list[str],
        gateway: str,
        categories: list[str],
        special: bool = False,
        ends_in: int = 700,
    ) -> DataSharingAgreement:
        record = self.create(
            "agreement",
            {
                "reference": reference,
                "title": title,
                "provider": provider,
                "recipient": COUNCIL,
                "controllers": [provider, COUNCIL],
                "legal_basis": "public_task",
                "special_category": special,
                "art9_condition": "substantial_public_interest" if special else None,
                "statutory_gateway": gateway,
                "purposes": purposes,
                # every demo agreement covers building and using its model; the one sharing
                # special-category data also covers auditing fairness on it, as its audit does
                "stages": {p: ["development", "use", *(["fairness_audit"] if special else [])]
                           for p in purposes},
                "data_categories": categories,
                "start_date": self.day(-200),
                "end_date": self.day(ends_in),
                "review_date": self.day(min(ends_in - 10, 150)),
                "retention": "Held for the life of the agreement, then deleted within 30 days",
                "signatories": [
                    {
                        "name": "M. Adeyemi",
                        "role": "Information Asset Owner",
                        "organisation": provider,
                    },
                    {
                        "name": "J. Ellis",
                        "role": "Senior Information Risk Owner",
                        "organisation": COUNCIL,
                    },
                ],
            },
        )
        self.approve(record, "Gateway, Art. 6/9 basis and signatories checked against the draft.")
        return record  # type: ignore[return-value]

    def dataset(
        self, ds: DemoDataset, agreement: DataSharingAgreement, purpose: str, owner: str
    ) -> Dataset:
        """Register ``ds`` as two datasets: half its rows to train on, and the other half held
        out to evaluate on (a seeded shuffle). Returns the training dataset; the held-out one
        follows it through approval."""
        shuffled = ds.frame.sample(frac=1.0, random_state=0)
        cut = len(shuffled) // 2
        training = self._dataset(replace(ds, frame=shuffled.iloc[:cut].sort_index()), agreement,
                                 purpose, owner)
        held = replace(ds, key=f"{ds.key}_held_out", title=f"{ds.title} (held out)",
                       frame=shuffled.iloc[cut:].sort_index())
        self.held_out[training.id] = (self._dataset(held, agreement, purpose, owner), held)
        return training

    def _dataset(
        self, ds: DemoDataset, agreement: DataSharingAgreement, purpose: str, owner: str
    ) -> Dataset:
        protected = any(c.protected for c in ds.columns)
        record = self.create(
            "dataset",
            {
                "name": ds.key.replace("_", "-"),
                "title": ds.title,
                "description": ds.description,
                "data_owner": owner,
                "steward": INSIGHT_TEAM,
                "classification": ds.classification,
                "purpose": purpose,
                "label_column": ds.label,
                "no_protected_justification": None
                if protected
                else "Property-level records: no protected characteristics are held. Equal "
                "treatment is audited across the council's area offices instead.",
                "columns": [
                    {**asdict(c), "allowed": list(c.allowed) if c.allowed else None}
                    for c in ds.columns
                ],
                "agreement_ids": [agreement.id],
            },
        )
        registration.upload_data(
            self.session,
            self.people[REGISTRAR],
            record,
            f"{ds.key}.csv",
            ds.frame.to_csv(index=False).encode(),
            self.services.store,
            self.now,
        )
        return record  # type: ignore[return-value]

    def dpia(
        self,
        reference: str,
        title: str,
        datasets: list[Dataset],
        models: list[str],
        need: str,
        risks: list[dict[str, Any]],
        advise: bool = True,
        approve: bool = True,
    ) -> DPIA:
        record = self.create(
            "dpia",
            {
                "reference": reference,
                "title": title,
                "need": need,
                "processing": "Records are pseudonymised on arrival, held in the council's "
                "analytics environment and used to fit, audit and serve the model.",
                "consultation": "Service leads, the DPO, frontline staff and a residents' panel "
                "were consulted; their concerns are in the risk register.",
                "necessity": "The data are limited to what the model needs; an advisory score "
                "helps staff prioritise and never decides on its own.",
                "risks": risks,
                "measures_approved_by_id": self.people["olivia.okafor"].user_id,
                "residual_risk_approved_by_id": self.people["olivia.okafor"].user_id,
                "review_date": self.day(300),
                "dataset_ids": [i for d in datasets
                                for i in (d.id, *([self.held_out[d.id][0].id]
                                                  if d.id in self.held_out else []))],
                "model_names": models,
            },
        )
        assert isinstance(record, DPIA)
        if advise:
            dpia_rules.record_advice(
                self.session,
                self.people["dee.marsh"],
                record,
                "Proceed with the listed measures; review the bias audit "
                "with the service before go-live.",
                self.now,
            )
            dpia_rules.respond_to_advice(
                self.session,
                self.people["olivia.okafor"],
                record,
                True,
                "Advice accepted; the audit review is booked.",
                self.now,
            )
        if approve:
            self.approve(record, "All seven steps complete.")
        return record

    def model(self, data: dict[str, Any]) -> PredictiveModel:
        """Register a model; unless ``data`` says otherwise, the Insight Team's lead data
        scientist built it and the team maintains it."""
        owners = {"technical_owner": "Lead data scientist", "maintenance_owner": INSIGHT_TEAM}
        return self.create("model", {**owners, **data})  # type: ignore[no-any-return]

    def client(self, name: str, models: list[str], purposes: list[str]) -> Actor:
        """A frontline tool of Northmere's (named: the deployment serves two councils)."""
        org = people.ensure_organisation(self.session, OPERATOR, COUNCIL, self.now)
        client, token = people.create_client(
            self.session, OPERATOR, {"name": name, "models": models, "purposes": purposes,
                                     "organisation_id": org.id}, self.now)
        self.tokens[name] = token
        return Actor("client", client.id, client.name, organisation_id=org.id)

