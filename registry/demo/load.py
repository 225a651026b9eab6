"""`gatehouse demo`: Northmere Borough Council, a fictional council, with its governed records.

Everything goes through the same governance functions as the API, so the demo shows the gates
doing their work: a children's services model held back by its bias audit, a housing model in
use, a business-rates pilot, an agreement about to expire, a DPIA awaiting the DPO.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pandas as pd
import skops.io as sio
from sqlalchemy.orm import Session

from .. import ROOT
from ..governance import dpia as dpia_rules
from ..governance import lifecycle, monitoring, people, registration, versions
from ..governance.actors import OPERATOR, Actor
from ..governance.errors import GovernanceError
from ..records import DPIA, Dataset, DataSharingAgreement, ModelVersion, PredictiveModel
from ..state import Services
from . import synthetic

COUNCIL = "Northmere Borough Council"
DEMO_PASSWORD = "northmere-demo-2026"  # the demo's only password: never use it for real data
STAFF = {
    "olivia.okafor": ("Olivia Okafor", ["governance_officer"]),
    "gus.hale": ("Gus Hale", ["governance_officer"]),
    "dee.marsh": ("Dee Marsh", ["dpo"]),
    "sam.patel": ("Sam Patel", ["data_scientist"]),
    "priya.shah": ("Priya Shah", ["data_scientist"]),
    "audrey.kent": ("Audrey Kent", ["auditor"]),
    "ada.lovell": ("Ada Lovell", ["admin"]),
}


class Demo:
    def __init__(self, session: Session, services: Services) -> None:
        self.session, self.services = session, services
        self.now = services.clock.now()
        self.today = self.now.date()
        self.people: dict[str, Actor] = {}
        self.tokens: dict[str, str] = {}
        self.lines: list[str] = []

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    # --- records through the governance layer -------------------------------------------------
    def create(self, who: str, kind: str, data: dict[str, Any]) -> Any:
        return registration.create(self.session, self.people[who], kind, data, self.now)

    def submit(self, who: str, record: Any) -> None:
        registration.submit(self.session, self.people[who], record, self.now)

    def decide(self, who: str, record: Any, decision: str, rationale: str, **kw: Any) -> bool:
        try:
            lifecycle.decide(
                self.session,
                self.people[who],
                record,
                self.services.policy,
                self.now,
                decision,
                rationale,
                **kw,
            )
            return True
        except GovernanceError as exc:
            unmet = (exc.details or {}).get("unmet") if isinstance(exc.details, dict) else None
            why = "; ".join(r["detail"] for r in unmet) if unmet else exc.message
            self.lines.append(f"  {record.label}: {decision} refused — {why[:300]}")
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
        approve: bool = True,
    ) -> DataSharingAgreement:
        record = self.create(
            "sam.patel",
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
        if approve:
            self.submit("sam.patel", record)
            self.decide(
                "olivia.okafor",
                record,
                "approve",
                "Gateway, Art. 6/9 basis and signatories checked against the draft.",
            )
        return record  # type: ignore[return-value]

    def dataset(
        self,
        ds: synthetic.DemoDataset,
        agreement: DataSharingAgreement,
        purpose: str,
        owner: str,
        frame: pd.DataFrame | None = None,
    ) -> Dataset:
        protected = any(c.protected for c in ds.columns)
        record = self.create(
            "sam.patel",
            "dataset",
            {
                "name": ds.key.replace("_", "-"),
                "title": ds.title,
                "description": ds.description,
                "data_owner": owner,
                "steward": "Northmere Insight Team",
                "classification": ds.classification,
                "purpose": purpose,
                "label_column": ds.label,
                "no_protected_justification": None
                if protected
                else "Property-level records: no protected characteristics are held. "
                "Equal treatment is "
                "audited across the council's area offices instead.",
                "columns": [
                    {
                        "name": c.name,
                        "type": c.type,
                        "description": c.description,
                        "protected": c.protected,
                        "proxy": c.proxy,
                        "identifier": c.identifier,
                        "suppressed": c.suppressed,
                        "allowed": list(c.allowed) if c.allowed else None,
                        "minimum": c.minimum,
                        "maximum": c.maximum,
                    }
                    for c in ds.columns
                ],
                "agreement_ids": [agreement.id],
            },
        )
        data = (ds.frame if frame is None else frame).to_csv(index=False).encode()
        registration.upload_data(
            self.session,
            self.people["sam.patel"],
            record,
            f"{ds.key}.csv",
            data,
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
            "sam.patel",
            "dpia",
            {
                "reference": reference,
                "title": title,
                "need": need,
                "processing": "Records are pseudonymised on arrival, held in the council's "
                "analytics "
                "environment and used to fit, audit and serve the model.",
                "consultation": "Service leads, the DPO, frontline staff and a residents' panel "
                "were consulted; their concerns are in the risk register.",
                "necessity": "The data are limited to what the model needs; an advisory score "
                "helps staff prioritise and never decides on its own.",
                "risks": risks,
                "measures_approved_by": "J. Ellis (SIRO)",
                "residual_risk_approved_by": "J. Ellis (SIRO)",
                "review_date": self.day(300),
                "dataset_ids": [d.id for d in datasets],
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
            self.submit("sam.patel", record)
            self.decide("olivia.okafor", record, "approve", "All seven steps complete.")
        return record

    def model(self, data: dict[str, Any]) -> PredictiveModel:
        return self.create("sam.patel", "model", data)  # type: ignore[no-any-return]

    def version(
        self,
        model: PredictiveModel,
        ds: synthetic.DemoDataset,
        dataset: Dataset,
        kind: str,
        stage: str,
        threshold: float,
        audit_by: list[str],
        extra: list[str] | None = None,
    ) -> ModelVersion:
        pipeline, _ = synthetic.fit_demo_model(ds, kind)
        metadata = {
            "training_dataset_ids": [dataset.id],
            "evaluation_dataset_ids": [dataset.id],
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
            self.people["sam.patel"],
            model,
            registration_schema(metadata),
            sio.dumps(pipeline),
            self.services.store,
            self.services.policy,
            self.now,
        )
        audit = monitoring.run_bias_audit(
            self.session,
            self.people["sam.patel"],
            version,
            dataset,
            label_column=ds.label or "",
            positive_label=ds.positive_label or "yes",
            threshold=threshold,
            sensitive_features=audit_by,
            extra_groupings=extra or [],
            policy=self.services.policy,
            store=self.services.store,
            now=self.now,
        )
        monitoring.configure_monitor(
            self.session,
            self.people["sam.patel"],
            version,
            dataset=dataset,
            columns=None,
            action="suspend",
            every_receipts=None,
            daily=True,
            policy=self.services.policy,
            store=self.services.store,
            now=self.now,
        )
        self.lines.append(f"  {version.label}: bias audit {audit.verdict}")
        return version

    def client(self, name: str, models: list[str], purposes: list[str]) -> Actor:
        client, token = people.create_client(
            self.session, OPERATOR, {"name": name, "models": models, "purposes": purposes}, self.now
        )
        self.tokens[name] = token
        return Actor("client", client.id, client.name)

    def serve(self, client: Actor, model: str, purpose: str, frame: pd.DataFrame, n: int) -> None:
        from ..serving import receipts, scoring

        version = self.session.query(PredictiveModel).filter_by(name=model).one().versions[-1]
        names = [f["name"] for f in version.feature_schema]
        rows = frame.sample(n=n, random_state=1)[names]
        for i, (_, row) in enumerate(rows.iterrows()):
            case = {
                k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v)
                for k, v in row.items()
            }
            result = scoring.score(
                self.session,
                client,
                model,
                purpose,
                [case],
                self.services.policy,
                self.services.store,
                self.now,
            )["results"][0]
            if i % 3 == 0:
                overrode = i % 9 == 0
                receipts.record_outcome(
                    self.session,
                    client,
                    result["receipt_id"],
                    "inspection booked" if result["score"] >= 0.5 or overrode else "no action",
                    overrode,
                    "Inspector knows the landlord licensed it last month" if overrode else None,
                    self.now,
                )
        self.lines.append(f"  {model}: {n} scores served to {client.name}, outcomes on a third")


def with_area_office(ds: synthetic.DemoDataset) -> synthetic.DemoDataset:
    """Add the office that handled each case, allocated as cases arrive, to audit equal treatment
    across offices (property data hold no protected characteristics)."""
    import numpy as np

    offices = ("North office", "Central office", "South office")
    frame = ds.frame.copy()
    frame["area_office"] = np.random.default_rng(5).choice(offices, len(frame))
    column = synthetic.ColumnSpec(
        "area_office", "category", "Council office that handled the case", allowed=offices
    )
    return replace(ds, frame=frame, columns=(*ds.columns, column))


def registration_schema(metadata: dict[str, Any]) -> dict[str, Any]:
    """Fill the defaults the API's schema would give."""
    from ..api.schemas import VersionIn

    return VersionIn().load(
        {k: (str(v) if isinstance(v, date) else v) for k, v in metadata.items()}
    )


def load_demo(session: Session, services: Services) -> list[str]:
    d = Demo(session, services)
    d.staff()
    steps: list[Callable[[Demo], None]] = [_early_help, _hmo, _business_rates, _credit, _planned]
    for step in steps:
        step(d)
        session.flush()
    lines = [
        f"Loaded the demo council: {COUNCIL}",
        *d.lines,
        "",
        f"Sign in at http://127.0.0.1:5000/ with any of these (password {DEMO_PASSWORD}):",
    ]
    lines += [f"  {h}@northmere.gov.uk  ({', '.join(STAFF[h][1])})" for h in STAFF]
    lines += [
        "",
        "API tokens (Authorization: Bearer …):",
        *(f"  {h}: {t}" for h, t in d.tokens.items()),
    ]
    return lines


def _early_help(d: Demo) -> None:
    ds = synthetic.early_help_referrals()
    agreement = d.agreement(
        "DSA-EH-01",
        "Early help: police, schools and health share referral information",
        "Northmere Safeguarding Partnership",
        ["early_help_triage"],
        "Children Act 2004 s.10 (co-operation to improve well-being) and s.11; Working "
        "Together to Safeguard Children 2023",
        ["referrals", "school attendance", "health"],
        special=True,
    )
    dataset = d.dataset(ds, agreement, "early_help_triage", "Director of Children's Services")
    model = d.model(
        {
            "name": "early-help-triage",
            "title": "Early help referral triage",
            "purpose": "early_help_triage",
            "purpose_class": "individual_case_work",
            "purpose_description": "Helps the front door team see which referrals may need an "
            "early help assessment first.",
            "business_owner": "Head of Early Help",
            "technical_owner": "Lead data scientist",
            "maintenance_owner": "Northmere Insight Team",
            "builder": "in_house",
            "decision_role": "advisory",
            "population": "Children referred to the front door",
            "people_scored_per_year": 3000,
            "vulnerable_groups": True,
            "benefit": "Families who need help are seen sooner",
            "benefit_measure": "Days from referral to assessment, against the previous year",
            "summary": "A score from 0 to 1 that a referral needs an early help assessment. "
            "Social workers decide; the score is one factor among many.",
        }
    )
    d.dpia(
        "DPIA-EH-01",
        "Early help referral triage",
        [dataset],
        [model.name],
        "Screening: profiling of children using special category data; a DPIA is mandatory.",
        [
            {
                "description": "Scores reflect past over-referral of poorer families",
                "likelihood": 3,
                "severity": 3,
                "measure": "Bias audit by ethnicity, sex and "
                "disability before approval; free school meals watched as a proxy",
                "effect": "reduced",
                "residual_likelihood": 2,
                "residual_severity": 2,
            },
            {
                "description": "Addresses of families escaping domestic abuse are disclosed",
                "likelihood": 1,
                "severity": 3,
                "measure": "Home postcode suppressed; never a feature",
                "effect": "eliminated",
                "residual_likelihood": 1,
                "residual_severity": 1,
            },
        ],
    )
    d.submit("sam.patel", dataset)
    d.decide("olivia.okafor", dataset, "approve", "Covered by DSA-EH-01 and DPIA-EH-01.")
    d.submit("sam.patel", model)
    d.decide("olivia.okafor", model, "approve", "Purpose, owners and decision role recorded.")
    version = d.version(model, ds, dataset, "gbm", "pilot", 0.5, ["ethnicity", "sex"])
    d.submit("sam.patel", version)
    d.decide("olivia.okafor", version, "approve", "Reviewed the pilot terms.")


def _hmo(d: Demo) -> None:
    ds = synthetic.hmo_properties()
    recorded = with_area_office(ds)
    agreement = d.agreement(
        "DSA-HMO-02",
        "Electoral roll, council tax and complaints for HMO licensing",
        "Northmere Electoral Services",
        ["hmo_licensing_enforcement"],
        "Housing Act 2004 ss.55-78 and s.235; Representation of the People Regulations 2001 "
        "reg. 115",
        ["electoral roll counts", "council tax", "complaints"],
    )
    dataset = d.dataset(recorded, agreement, "hmo_licensing_enforcement", "Head of Private Housing")
    model = d.model(
        {
            "name": "hmo-finder",
            "title": "Unlicensed HMO finder",
            "purpose": "hmo_licensing_enforcement",
            "purpose_class": "individual_case_work",
            "purpose_description": "Ranks properties for inspection as possible unlicensed houses "
            "in multiple occupation.",
            "business_owner": "Head of Private Housing",
            "technical_owner": "Lead data scientist",
            "maintenance_owner": "Northmere Insight Team",
            "builder": "in_house",
            "decision_role": "advisory",
            "population": "Residential properties in the borough",
            "people_scored_per_year": 4000,
            "benefit": "More inspections find an unlicensed HMO",
            "benefit_measure": "Hit rate of inspections (was 1 in 200 visits)",
            "summary": "A score from 0 to 1 that a property is an unlicensed HMO. Inspectors "
            "choose where to go; local knowledge comes first.",
        }
    )
    d.dpia(
        "DPIA-HMO-02",
        "Unlicensed HMO finder",
        [dataset],
        [model.name],
        "Screening: matching electoral roll data to properties; a DPIA is required.",
        [
            {
                "description": "Tenants in flagged homes face unwarranted visits",
                "likelihood": 2,
                "severity": 2,
                "measure": "Inspectors confirm with local knowledge before visiting",
                "effect": "reduced",
                "residual_likelihood": 1,
                "residual_severity": 2,
            }
        ],
    )
    d.submit("sam.patel", dataset)
    d.decide("olivia.okafor", dataset, "approve", "Covered by DSA-HMO-02 and DPIA-HMO-02.")
    d.submit("sam.patel", model)
    d.decide("olivia.okafor", model, "approve", "Purpose and owners recorded.")
    version = d.version(model, ds, dataset, "gbm", "production", 0.1, ["area_office"])
    d.submit("sam.patel", version)
    if d.decide(
        "olivia.okafor", version, "approve", "Audit across wards reviewed with the housing team."
    ):
        client = d.client("housing-inspections-app", ["hmo-finder"], ["hmo_licensing_enforcement"])
        d.serve(client, "hmo-finder", "hmo_licensing_enforcement", ds.frame, 40)


def _business_rates(d: Demo) -> None:
    ds = synthetic.business_rates()
    recorded = with_area_office(ds)
    agreement = d.agreement(
        "DSA-BR-03",
        "Valuation Office list and relief records for business rates review",
        "Valuation Office Agency",
        ["business_rates_accuracy"],
        "Local Government Finance Act 1988 s.63A; Commissioners for Revenue and Customs Act "
        "2005 s.18(2)",
        ["rating list", "reliefs"],
        ends_in=21,
    )
    dataset = d.dataset(recorded, agreement, "business_rates_accuracy", "Head of Revenues")
    model = d.model(
        {
            "name": "rates-review",
            "title": "Business rates review list",
            "purpose": "business_rates_accuracy",
            "purpose_class": "individual_case_work",
            "purpose_description": "Flags business properties that may be paying the wrong rates.",
            "business_owner": "Head of Revenues",
            "technical_owner": "Lead data scientist",
            "maintenance_owner": "Northmere Insight Team",
            "builder": "supplier",
            "supplier": "Ratewise Analytics Ltd",
            "code_owner": "Northmere Borough Council",
            "weights_owner": "Northmere Borough Council",
            "data_owner": "Valuation Office Agency",
            "exit_terms": "Code, weights and documentation transfer to the council on exit",
            "decision_role": "advisory",
            "population": "Non-domestic properties in the borough",
            "people_scored_per_year": 2500,
            "benefit": "Fewer properties on the wrong rates",
            "benefit_measure": "Rates recovered per inspection, against last year",
            "summary": "A score from 0 to 1 that a property's rates need review. Officers check "
            "every case before contacting the business.",
        }
    )
    d.submit("sam.patel", dataset)
    d.decide("olivia.okafor", dataset, "approve", "Non-personal; covered by DSA-BR-03.")
    d.dpia(
        "DPIA-BR-03",
        "Business rates review list",
        [dataset],
        [model.name],
        "Screening: mostly non-personal data; sole traders may be identifiable.",
        [
            {
                "description": "Sole traders identified from property data",
                "likelihood": 1,
                "severity": 2,
                "measure": "No names held; officers contact the ratepayer of record",
                "effect": "reduced",
                "residual_likelihood": 1,
                "residual_severity": 1,
            }
        ],
    )
    d.submit("sam.patel", model)
    d.decide("olivia.okafor", model, "approve", "Supplier terms and exit recorded.")
    version = d.version(model, ds, dataset, "gbm", "pilot", 0.1, ["area_office"])
    d.submit("sam.patel", version)
    if d.decide("gus.hale", version, "approve", "Pilot for one quarter, capped at 2,000 cases."):
        d.client("rates-review-tool", ["rates-review"], ["business_rates_accuracy"])


def _credit(d: Demo) -> None:
    frame = pd.read_csv(ROOT / "tests" / "fixtures" / "german_credit.csv")
    ds = synthetic.DemoDataset(
        key="german_credit",
        title="Statlog German credit applicants (UCI, CC BY 4.0)",
        description="1,000 loan applicants with their repayment outcome (Hofmann, 1994)",
        classification="personal",
        label="credit",
        positive_label="good",
        columns=tuple(_credit_columns(frame)),
        frame=frame,
    )
    agreement = d.agreement(
        "DSA-CR-04",
        "Statlog credit data for hardship-loan research",
        "UCI ML Repository",
        ["credit_risk_research"],
        "Open data (CC BY 4.0); research under the public task",
        ["financial standing", "employment", "age"],
    )
    dataset = d.dataset(ds, agreement, "credit_risk_research", "Head of Revenues", frame)
    model = d.model(
        {
            "name": "hardship-loans",
            "title": "Hardship loan repayment research score",
            "purpose": "credit_risk_research",
            "purpose_class": "aggregate_analysis",
            "business_owner": "Head of Revenues",
            "technical_owner": "Lead data scientist",
            "maintenance_owner": "Northmere Insight Team",
            "population": "Loan applicants",
            "people_scored_per_year": 1000,
            "benefit": "Understand who struggles to repay",
            "benefit_measure": "Findings used in the scheme's redesign",
            "summary": "Research only: describes groups, never scores an individual case.",
        }
    )
    d.dpia(
        "DPIA-CR-04",
        "Hardship loan research",
        [dataset],
        [model.name],
        "Screening: research use of personal financial data.",
        [
            {
                "description": "Research findings used to refuse individuals",
                "likelihood": 2,
                "severity": 3,
                "measure": "Aggregate analysis only; no case scoring",
                "effect": "reduced",
                "residual_likelihood": 1,
                "residual_severity": 2,
            }
        ],
        advise=False,
        approve=False,
    )
    d.submit(
        "sam.patel",
        d.session.get(DPIA, d.session.query(DPIA).filter_by(reference="DPIA-CR-04").one().id),
    )
    d.lines.append('  DPIA "DPIA-CR-04": submitted, awaiting the DPO\'s advice')


def _planned(d: Demo) -> None:
    model = d.model(
        {
            "name": "bat-roost-screen",
            "title": "Bat roost likelihood for planning applications",
            "purpose": "planning_ecology_screening",
            "purpose_class": "aggregate_analysis",
            "business_owner": "Head of Planning",
            "technical_owner": "Ecology officer",
            "maintenance_owner": "Northmere Insight Team",
            "population": "Planning applications",
            "benefit": "Fewer unnecessary bat surveys",
            "benefit_measure": "Survey requests per year",
            "summary": "Where bats are likely, so planners ask for surveys only there. No "
            "personal data.",
        }
    )
    d.submit("sam.patel", model)


def _credit_columns(frame: pd.DataFrame) -> list[synthetic.ColumnSpec]:
    numeric = {
        "duration",
        "credit_amount",
        "installment_rate",
        "present_residence_since",
        "age",
        "number_of_existing_credits",
        "number_of_people_liable_for",
    }
    protected = {"sex", "age", "foreign_worker", "status_sex"}
    return [
        synthetic.ColumnSpec(
            name=c,
            type="integer" if c in numeric else "category",
            description=c.replace("_", " ").capitalize(),
            protected=c in protected,
            allowed=None if c in numeric else tuple(sorted(frame[c].unique())),
            minimum=0 if c in numeric else None,
            maximum=float(frame[c].max()) * 2 if c in numeric else None,
        )
        for c in frame.columns
    ]
