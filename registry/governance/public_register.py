"""What the public register of algorithmic tools says, shaped on the UK Algorithmic
Transparency Recording Standard (ATRS): tier 1 for the general public, tier 2 for those who want
the detail.

Only what is meant to be public leaves here: no draft, rejected or sent-back record; no member of
staff by name (roles only); no identifier or suppressed column; no score receipt; no decision's
rationale or internal note; no DPO advice.

A model is listed when it is
- **planned**: its registration is submitted or approved, and no version has been approved;
- **in pilot**: a version approved for a pilot (and not retired) exists;
- **in use**: a version approved for production (and not retired) exists;
- **retired**: the model, or every one of its versions, is retired.

It is **paused** while no such version may be used today: each is suspended, or approved but
not fit for use (its approval or pilot has ended, or something it rests on has lapsed — the
chain rule, `chain.fit_for_use`), so the register never says "in use" of a tool that is not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import (
    DPIA,
    Dataset,
    DataSharingAgreement,
    Decision,
    DriftCheck,
    ModelVersion,
    Organisation,
    PredictiveModel,
)
from . import chain, evidence, gaps, monitor_health, risk, upstream
from .policy import Policy
from .scope import unscoped

STANDARD = "Algorithmic Transparency Recording Standard (UK)"
STANDARD_VERSION = "3.0"
STATUSES = {  # status → (words on the page, ATRS phase)
    "planned": ("Planned", "Pre-deployment"),
    "in_pilot": ("In pilot", "Beta/pilot"),
    "in_use": ("In use", "Production"),
    "retired": ("Retired", "Retired"),
}
HAD_APPROVAL = ("approved", "suspended", "retired")
PUBLIC_RECORD_STATES = ("approved", "suspended", "retired")


# --- which models are public, and how ----------------------------------------------------------

def public_status(model: PredictiveModel) -> str | None:
    versions = model.versions
    if model.state == "retired" or (versions and all(v.state == "retired" for v in versions)):
        return "retired" if model.state != "draft" else None
    if model.state in ("draft", "rejected", "changes_requested"):
        return None
    live = [v for v in versions if v.state in ("approved", "suspended")]
    if any(v.stage == "production" for v in live):
        return "in_use"
    if live:
        return "in_pilot"
    if model.state in ("submitted", "approved"):
        return "planned"
    return None


def usable_today(session: Session, version: ModelVersion, policy: Policy, today: date) -> bool:
    """Whether the version may be used today: approved, and fit for use by the chain rule."""
    if version.state != "approved":
        return False
    with unscoped(session):  # the register is public: judged whoever reads it
        return chain.fit_for_use(session, version, policy, today).ok


def paused(session: Session, model: PredictiveModel, policy: Policy, today: date,
           in_use: dict[int, bool] | None = None) -> bool:
    """In pilot or in use, but no version may be used today (each suspended, or lapsed);
    `in_use`, the versions already judged (id -> usable today)."""
    live = [v for v in model.versions if v.state in ("approved", "suspended")]
    judged = in_use or {}
    return bool(live) and not any(
        judged[v.id] if v.id in judged else usable_today(session, v, policy, today)
        for v in live)


def public_models(session: Session, organisation_id: int | None = None
                  ) -> list[tuple[PredictiveModel, str]]:
    """Every organisation's public models (or one organisation's), whoever asks: the register
    is public, so a signed-in reader's scope does not narrow it."""
    query = select(PredictiveModel).order_by(PredictiveModel.title)
    if organisation_id is not None:
        query = query.where(PredictiveModel.organisation_id == organisation_id)
    found = []
    with unscoped(session):
        for m in session.scalars(query).all():
            status = public_status(m)
            if status is not None:
                found.append((m, status))
    return found


def _day(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def _approval(session: Session, record: Any) -> dict[str, Any] | None:
    if not record.approval_id:
        return None
    d = session.get(Decision, record.approval_id)
    if d is None:
        return None
    return {"approved_on": _day(d.created_at), "approved_until": _day(record.approved_until),
            "policy": f"{d.policy_name} {d.policy_version}"}


def _decision_words(model: PredictiveModel) -> tuple[str, str]:
    if model.decision_role == "advisory":
        how = ("The tool gives a score with an explanation of what raised or lowered it. It is "
               "a decision aid: a member of staff looks at the case and makes the decision, and "
               "can go against the score.")
        oversight = ("Every decision is taken by a person, who records the final decision and "
                     "whether it went against the score. Gatehouse monitors how often scores "
                     "are overridden.")
    else:
        how = "The tool's output is used to make decisions without a person deciding each case."
        oversight = ("Automated decisions under UK GDPR Art. 22, on this basis: "
                     + (model.art22_basis or "not recorded") + ".")
    if model.purpose_class == "aggregate_analysis":
        how = ("The tool is used to analyse groups and plan services. It does not name or score "
               "individual people for case work.")
    return how, oversight


def _columns(dataset: Dataset) -> list[dict[str, Any]]:
    """Columns a member of the public may know of: never identifiers or suppressed ones."""
    return [{"name": c.name, "type": c.type, "description": c.description,
             "protected_characteristic": c.protected}
            for c in dataset.columns if not c.identifier and not c.suppressed]


def atrs_record(session: Session, model: PredictiveModel, status: str, policy: Policy,
                now: datetime, website: str, contact: str = "") -> dict[str, Any]:
    """One model as an ATRS-shaped record (tier 1 and tier 2), with nothing private in it.

    ``website`` is the record's own public page; ``contact`` whom to ask (by default the
    organisation's DPO)."""
    today = now.date()
    org = session.get(Organisation, model.organisation_id)
    org_name = org.name if org else ""
    org_slug = org.slug if org else ""
    words, phase = STATUSES[status]
    how, oversight = _decision_words(model)
    contact = contact or f"The data protection officer of {org_name}"
    versions = [v for v in model.versions if v.state in HAD_APPROVAL]
    datasets: dict[int, Dataset] = {}
    for v in versions:
        for d in upstream.version_datasets_of(v):
            if d.state in PUBLIC_RECORD_STATES:
                datasets.setdefault(d.id, d)
    agreements: dict[int, DataSharingAgreement] = {}
    for d in datasets.values():
        for a in d.agreements:
            if a.state in PUBLIC_RECORD_STATES:
                agreements.setdefault(a.id, a)
    dpias: dict[int, DPIA] = {p.id: p for p in upstream.dpias_covering_model(session, model)
                              if p.state in PUBLIC_RECORD_STATES}
    for d in datasets.values():
        for p in upstream.dpias_covering_dataset(session, d):
            if p.state in PUBLIC_RECORD_STATES:
                dpias.setdefault(p.id, p)
    tier = risk.tier(session, model, policy)
    live = [v for v in versions if v.state in ("approved", "suspended")]
    current = max(live, key=lambda v: v.number) if live else None
    in_use = {v.id: usable_today(session, v, policy, today) for v in live}  # one walk each
    feature_names = sorted({f.get("name", "") for v in versions for f in (v.feature_schema or [])
                            if isinstance(f, dict)} - _hidden_columns(datasets.values()))
    return {
        "id": f"{org_slug}/{model.name}",  # a model's name is its organisation's own
        "metadata": {
            "standard": STANDARD, "standard_version": STANDARD_VERSION,
            "status": status, "status_text": words, "phase": phase,
            "paused": paused(session, model, policy, today, in_use),
            "organisation": org_name, "organisation_slug": org_slug,
            "function": _words(model.purpose),
            "date_updated": _day(max([model.updated_at, *[v.updated_at for v in versions]])),
        },
        "tier_1": {
            "name": model.title or model.name,
            "description": model.summary,
            "how_it_is_used": how,
            "why_it_is_used": model.benefit or model.purpose_description,
            "website": website,
            "contact": contact,
            "organisation": org_name,
            "phase": phase,
        },
        "tier_2": {
            "owner_and_responsibility": {
                "organisation": org_name,
                "senior_responsible_owner_role": model.business_owner,
                "technical_owner_role": model.technical_owner,
                "maintenance_owner_role": model.maintenance_owner,
                "external_supplier_involved": model.builder != "in_house",
                "supplier": model.supplier if model.builder != "in_house" else None,
                "supplier_role": None if model.builder == "in_house"
                else f"built by a {_words(model.builder).lower()}",
                "ownership": {"code": model.code_owner, "weights": model.weights_owner,
                              "data": model.data_owner} if model.builder != "in_house" else None,
                "exit_terms": model.exit_terms if model.builder != "in_house" else None,
            },
            "description_and_rationale": {
                "detailed_description": model.purpose_description,
                "purpose": _words(model.purpose),
                "scope": model.population,
                "benefits": model.benefit,
                "benefit_measure": model.benefit_measure,
                "kind_of_use": ("scores individual cases" if model.purpose_class ==
                                "individual_case_work" else "analysis of groups only"),
                "versions": [_version(session, v, in_use.get(v.id, False)) for v in versions],
            },
            "decision_making_process": {
                "decision_role": model.decision_role,
                "process_integration": how,
                "provided_information": (
                    "A score between 0 and 1, a band (" + ", ".join(
                        b.name for b in policy.score_bands) + ") and a plain-language "
                    "explanation of the factors that moved it; the explanation describes the "
                    "model, not causes." if model.purpose_class == "individual_case_work"
                    else "Figures about groups of people, never about a named person."),
                "human_decisions_and_review": oversight,
                "frequency_and_scale_of_usage": (
                    f"About {model.people_scored_per_year:,} people a year"
                    if model.people_scored_per_year else None),
                "vulnerable_groups": model.vulnerable_groups,
            },
            "data": {
                "sources": [{
                    "name": d.title, "description": d.description,
                    "data_owner": d.data_owner, "classification": _words(d.classification),
                    "rows": d.row_count, "columns": _columns(d),
                } for d in datasets.values()],
                "features_used": feature_names,
                "protected_characteristics": sorted({c.name for d in datasets.values()
                                                     for c in d.columns if c.protected
                                                     and not c.suppressed and not c.identifier}),
                "collection_and_sharing": [{
                    "reference": a.reference, "title": a.title, "provider": a.provider,
                    "recipient": a.recipient, "controllers": a.controllers,
                    "legal_basis": _words(a.legal_basis),
                    "special_category_data": a.special_category,
                    "article_9_condition": _words(a.art9_condition) if a.special_category
                    else None,
                    "statutory_gateway": a.statutory_gateway,
                    "permitted_purposes": [_words(p) for p in a.purposes],
                    "data_categories": a.data_categories,
                    "start_date": _day(a.start_date), "end_date": _day(a.end_date),
                    "retention": a.retention,
                } for a in agreements.values()],
            },
            "risks_mitigations_and_impact_assessments": {
                "impact_assessments": [{
                    "type": "Data protection impact assessment", "reference": p.reference,
                    "title": p.title, "status": p.state, "review_date": _day(p.review_date),
                    "prior_consultation_with_ico": bool((p.prior_consultation or "").strip()),
                } for p in dpias.values()],
                "risks": [{
                    "risk": r.description, "level": r.level, "mitigation": r.measure,
                    "effect": r.effect, "residual_level": r.residual_level,
                } for p in dpias.values() for r in p.risks],
                "risk_tier": {"tier": tier.tier, "of": 4,
                              "factors": [_words(f) for f in tier.facts],
                              "approver_roles": list(tier.approver_roles)},
                "bias_audit": _bias(session, current),
                "drift_monitoring": _drift(session, current, policy, now),
            },
            "approval": _approval(session, current) if current else None,
        },
    }


def _hidden_columns(datasets: Any) -> set[str]:
    return {c.name for d in datasets for c in d.columns if c.identifier or c.suppressed}


def _words(value: str | None) -> str:
    if not value:
        return ""
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


def _version(session: Session, v: ModelVersion, usable: bool) -> dict[str, Any]:
    approval = _approval(session, v)
    in_use = "in use" if v.stage == "production" else "in pilot"
    return {
        "version": v.number,
        "status": {"approved": in_use if usable else "paused",
                   "suspended": "paused", "retired": "retired"}.get(v.state, v.state),
        "stage": v.stage,
        "pilot_end_date": _day(v.pilot_end_date) if v.stage == "pilot" else None,
        "pilot_case_cap": v.pilot_case_cap if v.stage == "pilot" else None,
        "summary": v.summary,
        "performance": {k: val for k, val in (v.metrics or {}).items()
                        if isinstance(val, int | float) and not isinstance(val, bool)},
        "approved_on": approval["approved_on"] if approval else None,
        "approved_until": approval["approved_until"] if approval else None,
    }


def _bias(session: Session, v: ModelVersion | None) -> dict[str, Any] | None:
    """The latest audit's verdict and the figures compared with the policy's limits: no group
    sizes, so that no small group can be picked out."""
    if v is None:
        return None
    audit = evidence.in_force_audit(session, v)
    if audit is None:
        return None
    not_assessed = gaps.not_assessed(audit)
    waived = evidence.waived(session, v, "small_groups", evidence.ref(audit))
    groupings = audit.results.get("groupings") if isinstance(audit.results, dict) else None
    checks = []
    if isinstance(groupings, dict):
        for name, g in groupings.items():
            for lim in (g.get("limits") or []) if isinstance(g, dict) else []:
                if isinstance(lim, dict):
                    checks.append({"characteristics": name, "measure": lim.get("metric"),
                                   "required": lim.get("bound"), "value": lim.get("value"),
                                   "result": lim.get("status")})
    return {"date": _day(audit.created_at), "verdict": audit.verdict,
            "characteristics": audit.sensitive_features, "checks": checks,
            "merged_groups": [m.get("group") for m in (audit.results or {}).get("merged") or []
                              if isinstance(m, dict)],
            "groups_not_assessed_waived": [g for g in not_assessed if g in waived]}


def _drift(session: Session, v: ModelVersion | None, policy: Policy, now: datetime
           ) -> dict[str, Any] | None:
    """Whether the version in use is watched for drift, and honestly how that is going: a
    monitor that cannot run or is overdue, and drift found that officers are still reviewing
    (an alert not yet acknowledged). Never the error's text: it may quote people's data."""
    if v is None:
        return None
    monitor = evidence.in_force_monitor(session, v)
    if monitor is None:
        return {"monitored": False}
    last = session.scalars(select(DriftCheck).where(DriftCheck.monitor_id == monitor.id)
                           .order_by(DriftCheck.created_at.desc(), DriftCheck.id.desc())).first()
    health = monitor_health.health(session, monitor, policy, now)
    alerts = [{"date": _day(check.created_at),
               "text": f"drift found on {_day(check.created_at)}; under review"}
              for check in _alert_checks(session, v, policy)]
    return {"monitored": True,
            "action_on_breach": "use is suspended" if monitor.action == "suspend"
            else "officers are alerted",
            "last_check": _day(last.created_at) if last else None,
            "last_result": None if last is None else ("could not run" if last.status == "failed"
                                                      else "drift found" if last.drifted
                                                      else "no drift"),
            "state": {"ok": "working"}.get(health.state, health.state),
            "state_text": _health_words(health),
            "open_alerts": alerts}


def _alert_checks(session: Session, v: ModelVersion, policy: Policy) -> list[DriftCheck]:
    found = []
    for gap in gaps.open_alerts(session, v, policy):
        check = session.get(DriftCheck, int(gap.evidence.split(":", 1)[1]))
        if check is not None:
            found.append(check)
    return found


def _health_words(health: monitor_health.Health) -> str:
    if health.ok or health.since is None:
        return "Checks are running on time."
    if health.state == "failing":
        return (f"The checks have not been able to run since {_day(health.since)}; "
                + ("the tool is not used until they do." if health.lapsed
                   else "officers are putting it right."))
    return (f"A check has been overdue since {_day(health.since)}; "
            + ("the tool is not used until one runs." if health.lapsed
               else "officers are putting it right."))


def register(session: Session, policy: Policy, now: datetime,
             website: Callable[[PredictiveModel], str], contact: str = "",
             organisation_id: int | None = None) -> list[dict[str, Any]]:
    """Every public model's ATRS record (of every organisation, or the one given); ``website``
    gives a model's public page."""
    with unscoped(session):
        return [atrs_record(session, m, status, policy, now, website(m), contact)
                for m, status in public_models(session, organisation_id)]
