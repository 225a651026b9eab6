"""Gates: the named requirements a record must meet before approval, and while in use.

Each requirement is `{id, met, detail, remedy}`; the same list drives the API's gate answer,
the refusal of an approval and the review page's checklist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..records import (
    DPIA,
    Dataset,
    DataSharingAgreement,
    Decision,
    Governed,
    ModelVersion,
    PredictiveModel,
)
from ..records.datasets import PERSONAL_CLASSIFICATIONS
from . import (
    audit_gate,
    dpia_gate,
    evidence,
    gaps,
    monitor_health,
    parties,
    purposes,
    upstream,
    versions_check,
)
from .policy import Policy
from .risk import tier

STATE_WORDS = {
    "draft": "still a draft",
    "submitted": "awaiting approval",
    "changes_requested": "sent back for changes",
    "rejected": "rejected",
    "suspended": "suspended",
    "retired": "retired",
}


@dataclass(frozen=True)
class Usability:
    ok: bool
    reason: str = ""


def first(record: Governed) -> str:
    """What to do to an upstream record before the one resting on it, in the officer's words."""
    if record.state == "approved":  # approved, but lapsed or no longer meeting its gate
        return f"bring {record.label} back into force first"
    verb = {"suspended": "reinstate", "rejected": "replace", "retired": "replace"}
    return f"{verb.get(record.state, 'approve')} {record.label} first"


@dataclass(frozen=True)
class Requirement:
    id: str
    met: bool
    detail: str
    remedy: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "met": self.met, "detail": self.detail,
                "remedy": "" if self.met else self.remedy}


@dataclass
class GateResult:
    requirements: list[Requirement] = field(default_factory=list)
    # upstream records not yet usable, in the order they must be approved (see .order)
    waiting_on: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Ready for (further) approval: everything but the approvals themselves is met."""
        return all(r.met for r in self.requirements if r.id != "approvals")

    @property
    def unmet(self) -> list[Requirement]:
        return [r for r in self.requirements if not r.met]

    def as_dict(self) -> dict[str, Any]:
        return {"ready": self.ready, "requirements": [r.as_dict() for r in self.requirements],
                "waiting_on": self.waiting_on}


class _Checklist:
    def __init__(self, now: datetime, usable: Callable[[Governed], Usability]) -> None:
        self.items: list[Requirement] = []
        self.now = now  # the moment evaluated at, for what runs by the hour (a monitor's grace)
        self.usable = usable  # whether a record this one rests on may be relied on today

    def add(self, id: str, met: bool, detail: str, remedy: str = "") -> None:
        self.items.append(Requirement(id, bool(met), detail, remedy))


def requirements(session: Session, record: Governed, policy: Policy, now: datetime,
                 usable: Callable[[Governed], Usability]) -> GateResult:
    """The record's gate at `now`. Whether each record it rests on is usable is asked of
    `usable`: that is the chain rule's to answer (`governance.chain.evaluate` supplies it)."""
    checks = _Checklist(now, usable)
    _RULES[record.kind](session, record, policy, now.date(), checks)
    _approvals(session, record, policy, checks)
    return GateResult(checks.items)


# --- agreements -------------------------------------------------------------------------------

def _agreement(session: Session, a: Any, policy: Policy, today: date, c: _Checklist) -> None:
    assert isinstance(a, DataSharingAgreement)
    c.add("legal_basis", a.legal_basis in policy.legal_bases,
          f"legal basis {a.legal_basis!r}" + ("" if a.legal_basis in policy.legal_bases else
                                              " is not one the policy accepts"),
          f"use one of: {', '.join(policy.legal_bases)}")
    if a.legal_basis in ("public_task", "legal_obligation"):
        c.add("statutory_gateway", bool(a.statutory_gateway.strip()),
              "statutory gateway stated" if a.statutory_gateway.strip()
              else "no statutory gateway is stated for a public task or legal obligation",
              "name the law that lets the provider share this data (e.g. Children Act 2004 s.10)")
    if a.special_category:
        ok = a.art9_condition in policy.art9_conditions
        c.add("art9_condition", ok,
              f"Art. 9 condition {a.art9_condition!r}" if ok
              else "special category data is shared without an accepted Art. 9 condition",
              f"record one of: {', '.join(policy.art9_conditions)}")
    bad = [p for p in a.purposes if p not in policy.purposes]
    c.add("purposes", bool(a.purposes) and not bad,
          f"permits {', '.join(a.purposes)}" if a.purposes and not bad
          else (f"purposes not in the policy's vocabulary: {', '.join(bad)}" if bad
                else "no permitted purposes are listed"),
          f"list purposes from: {', '.join(policy.purposes)}")
    c.add("stages", *purposes.agreement_stages_status(a))
    if a.start_date is None or a.end_date is None:
        c.add("dates", False, "start or end date is missing", "record start_date and end_date")
    else:
        days = (a.end_date - a.start_date).days
        length_ok = 0 <= days <= policy.agreement_max_days
        ended = a.end_date < today
        c.add("dates", length_ok and not ended,
              f"runs {a.start_date} to {a.end_date} ({days} days)"
              + ("" if length_ok else f"; the policy allows 0 to {policy.agreement_max_days} days")
              + (f"; it ended on {a.end_date}" if ended else ""),
              f"set an end date within {policy.agreement_max_days} days of the start"
              + ("; an ended agreement needs a new one" if ended else ""))
    review_ok = a.review_date is not None and (
        a.start_date is None or a.end_date is None or a.start_date <= a.review_date <= a.end_date)
    c.add("review_date", review_ok,
          f"review due {a.review_date}" if review_ok
          else "no review date between the start and end dates",
          "set review_date between start_date and end_date")
    c.add("controllers", bool(a.controllers),
          f"controller(s): {', '.join(a.controllers)}" if a.controllers
          else "no data controller is named", "name the data controller(s)")
    orgs = {s.get("organisation") for s in a.signatories}
    missing = [o for o in (a.provider, a.recipient) if o not in orgs]
    c.add("signatories", not missing,
          f"signed by {len(a.signatories)} signatories" if not missing
          else f"no signatory for {', '.join(missing)}",
          "add a signatory (name, role, organisation) for the provider and the recipient")
    stopped = parties.refusal(a)  # a party stopped its side: listed only while one has
    if stopped:
        c.add("parties", False, stopped,
              "the party that suspended its side lifts the suspension (POST .../sides/<side>)")


# --- datasets ---------------------------------------------------------------------------------

def _dataset(session: Session, d: Any, policy: Policy, today: date, c: _Checklist) -> None:
    assert isinstance(d, Dataset)
    c.add("purpose", d.purpose in policy.purposes, f"declared purpose {d.purpose!r}"
          + ("" if d.purpose in policy.purposes else " is not in the policy's vocabulary"),
          f"declare one of: {', '.join(policy.purposes)}")
    # Every agreement the data came under must hold: if one is revoked, that data may not be used.
    good, problems, todo = [], [], []
    for a in d.agreements:
        u = c.usable(a)
        if not u.ok:
            problems.append(u.reason)
            todo.append(first(a))
        elif d.purpose not in a.purposes:
            problems.append(f"{a.label} does not permit the purpose {d.purpose!r}")
        else:
            good.append(a.label)
    c.add("agreement", bool(good) and not problems,
          "; ".join(problems) if problems
          else (f"covered by {', '.join(good)}" if good else "no agreement covers this dataset"),
          "; ".join(todo) if todo else
          "every agreement linked must be approved, in force, and permit the dataset's purpose")
    if d.classification in PERSONAL_CLASSIFICATIONS:
        covering = upstream.dpias_covering_dataset(session, d)
        checked = [(p, c.usable(p)) for p in covering]
        ok_dpias = [p.label for p, u in checked if u.ok]
        reasons = [u.reason for _, u in checked]
        c.add("dpia", bool(ok_dpias),
              f"assessed by {', '.join(ok_dpias)}" if ok_dpias
              else ("; ".join(reasons) or f"{d.classification} data with no DPIA covering it"),
              " or ".join(first(p) for p in covering) if covering
              else "have an approved DPIA that lists this dataset")
    protected = d.protected_attributes
    justified = bool((d.no_protected_justification or "").strip())
    c.add("schema", bool(d.columns) and (bool(protected) or justified),
          (f"{len(d.columns)} columns; protected: {', '.join(protected)}" if protected
           else f"{len(d.columns)} columns; no protected attributes, justified")
          if d.columns and (protected or justified)
          else ("no columns declared" if not d.columns
                else "no protected attribute is flagged and no justification is given"),
          "declare the columns, flag protected attributes, or justify why there are none")
    c.add("data", bool(d.data_path and d.content_hash),
          f"{d.row_count} rows uploaded, sha256 {d.content_hash[:12]}…" if d.content_hash
          else "no data uploaded", "upload the data (CSV or Parquet) matching the schema")


def _dpia(session: Session, p: Any, policy: Policy, today: date, c: _Checklist) -> None:
    assert isinstance(p, DPIA)
    dpia_gate.check(p, policy, today, c.add)


# --- models -----------------------------------------------------------------------------------

def _model(session: Session, m: Any, policy: Policy, today: date, c: _Checklist) -> None:
    assert isinstance(m, PredictiveModel)
    c.add("purpose", m.purpose in policy.purposes, f"purpose {m.purpose!r} ({m.purpose_class})"
          + ("" if m.purpose in policy.purposes else " is not in the policy's vocabulary"),
          f"declare one of: {', '.join(policy.purposes)}")
    owners = {"business": m.business_owner, "technical": m.technical_owner,
              "maintenance": m.maintenance_owner}
    missing = [k for k, v in owners.items() if not v.strip()]
    c.add("owners", not missing, "business, technical and maintenance owners named" if not missing
          else f"no {', '.join(missing)} owner", "name each owner")
    if m.builder != "in_house":
        terms = {"supplier": m.supplier or "", "code owner": m.code_owner,
                 "weights owner": m.weights_owner, "data owner": m.data_owner,
                 "exit terms": m.exit_terms}
        gaps = [k for k, v in terms.items() if not v.strip()]
        c.add("supplier_terms", not gaps, f"built by {m.builder} {m.supplier}" if not gaps
              else f"built by a {m.builder} but missing: {', '.join(gaps)}",
              "record the supplier, who owns the code, weights and data, and the exit terms")
    _decision_role(m, policy, c)
    described = all(x.strip() for x in (m.population, m.benefit, m.benefit_measure, m.summary))
    c.add("description", described, "population, benefit, how it is judged and a summary given"
          if described
          else "population, benefit, benefit measure or plain-language summary missing",
          "describe who is scored, the benefit, how it will be judged, in plain language")
    dpias = upstream.dpias_covering_model(session, m)
    checked = [(p, c.usable(p)) for p in dpias]
    ok = [p.label for p, u in checked if u.ok]
    c.add("dpia", bool(ok), f"assessed by {', '.join(ok)}" if ok
          else ("; ".join(u.reason for _, u in checked)
                or "no DPIA covers this model"),
          " or ".join(first(p) for p in dpias) if dpias
          else "have an approved DPIA that lists this model")


def _decision_role(m: PredictiveModel, policy: Policy, c: _Checklist) -> None:
    if m.decision_role == "advisory":
        c.add("decision_role", True, "advisory: a decision aid; people decide")
    else:
        ok = policy.allow_automated and bool((m.art22_basis or "").strip())
        c.add("decision_role", ok, "automated decisions with an Art. 22 basis" if ok
              else "automated decisions are not allowed by policy"
              if not policy.allow_automated else "automated, but no Art. 22 basis is recorded",
              "make the model advisory, or record an Art. 22(2) basis under a policy allowing it")


# --- model versions ---------------------------------------------------------------------------

def _version(session: Session, v: Any, policy: Policy, today: date, c: _Checklist) -> None:
    assert isinstance(v, ModelVersion)
    m = v.model
    u = c.usable(m)
    c.add("model", u.ok, f"{m.label} is approved" if u.ok else u.reason,
          first(m))
    c.add("artefact", *versions_check.artefact_status(v))
    c.add("feature_schema", bool(v.feature_schema),
          f"{len(v.feature_schema)} features declared" if v.feature_schema
          else "no feature schema", "declare the feature schema (or derive it from the dataset)")
    datasets = upstream.version_datasets_of(v)
    checked = [(d, c.usable(d)) for d in datasets]
    problems = [u.reason for _, u in checked if not u.ok]
    has_both = bool(v.training_datasets) and bool(v.evaluation_datasets)
    c.add("datasets", has_both and not problems,
          "; ".join(problems) if problems
          else (f"{len(datasets)} dataset(s), all approved" if has_both
                else "needs at least one training and one evaluation dataset"),
          "; ".join(first(d) for d, u in checked if not u.ok) if problems
          else "link approved training and evaluation datasets")
    c.add("purpose_permitted", *purposes.development_status(v))
    if m.purpose_class == "individual_case_work":  # aggregate analysis scores no case
        c.add("use_permitted", *purposes.use_status(v))
    c.add("bias_audit", *audit_gate.status(session, v, policy, today))
    basis = purposes.audit_basis_status(session, v)
    if basis is not None:
        c.add("audit_basis", *basis)
    _drift_monitor(session, v, policy, c)
    for gap in gaps.find(session, v, policy):
        if gap.decision == "waive":
            c.add(gap.requirement, not gap.outstanding,
                  gap.detail + (f"; waived by an officer: {', '.join(sorted(gap.waived))}"
                                if gap.waived else ""), gap.remedy)
    c.add("evaluation_data", *versions_check.evaluation_data_status(v))
    c.add("explanation", *versions_check.explanation_status(v, policy))
    _decision_role(m, policy, c)
    if v.stage == "pilot":
        latest = today + timedelta(days=policy.pilot_max_days)
        ok = (v.pilot_end_date is not None and today <= v.pilot_end_date <= latest
              and v.pilot_case_cap is not None)
        c.add("pilot_terms", ok,
              f"pilot until {v.pilot_end_date}, at most {v.pilot_case_cap} cases" if ok
              else "a pilot needs an end date (within policy) and a cap on cases scored",
              f"set pilot_end_date within {policy.pilot_max_days} days and pilot_case_cap")


def _drift_monitor(session: Session, v: ModelVersion, policy: Policy, c: _Checklist) -> None:
    """Configured, not in breach, and running on time (see :mod:`.monitor_health`)."""
    monitor = evidence.in_force_monitor(session, v)
    if monitor is None:
        c.add("drift_monitor", False, "no drift monitor is configured",
              "configure a drift monitor (POST .../drift-monitor)")
    elif "score" not in [*monitor.columns.get("numerical", []),
                         *monitor.columns.get("categorical", [])]:
        # stored before the rule (configure_monitor refuses it now): no safeguard on the output
        c.add("drift_monitor", False,
              f"monitor {monitor.id} does not watch the model's score, so a change in whom it "
              "scores high would go unseen",
              "configure a drift monitor that watches the score (by default it watches every "
              "feature and the score)")
    elif monitor.in_breach:
        c.add("drift_monitor", False,
              f"monitor {monitor.id} in breach: the latest check found drift",
              "investigate the drift, then a governance officer reinstates with a rationale")
    else:
        c.add("drift_monitor", *monitor_health.requirement(
            monitor_health.health(session, monitor, policy, c.now)))


# --- approvals --------------------------------------------------------------------------------

def approver_roles(session: Session, record: Governed, policy: Policy) -> tuple[str, ...]:
    if isinstance(record, ModelVersion):
        return tier(session, record.model, policy).approver_roles
    return policy.record_approver_roles


def current_approvals(session: Session, record: Governed) -> list[Decision]:
    """The round of decisions that puts the record in force, or would.

    While it is suspended, the reinstatements since its latest suspension: putting it back in
    force needs the same people as approving it. Otherwise the approvals since its last
    submission, not superseded.
    """
    mine = (Decision.subject_kind == record.kind) & (Decision.subject_id == record.id)
    if record.state == "suspended":
        suspended_by = select(func.max(Decision.id)).where(
            mine, Decision.decision == "suspend").scalar_subquery()
        query = select(Decision).where(mine, Decision.decision == "reinstate",
                                       Decision.id > suspended_by)
    else:
        query = select(Decision).where(mine, Decision.decision == "approve",
                                       Decision.closed.is_(False))
    return list(session.scalars(query.order_by(Decision.id)).all())


def approvals_missing(session: Session, record: Governed, policy: Policy) -> list[str]:
    """The approver roles this round still needs, one distinct person each."""
    needed = list(approver_roles(session, record, policy))
    for d in current_approvals(session, record):
        if d.actor_role in needed:
            needed.remove(d.actor_role)
    return needed


def _approvals(session: Session, record: Governed, policy: Policy, c: _Checklist) -> None:
    needed = approvals_missing(session, record, policy)
    total = len(approver_roles(session, record, policy))
    what = "reinstatement" if record.state == "suspended" else "approval"
    c.add("approvals", not needed,
          f"{total - len(needed)} of {total} {what}s given"
          + (f"; still needed: {', '.join(needed)}" if needed else ""),
          f"{what} by: {', '.join(needed)} (each a different person, none who built or "
          "submitted it)")


_RULES = {
    "agreement": _agreement,
    "dataset": _dataset,
    "dpia": _dpia,
    "model": _model,
    "model_version": _version,
}
