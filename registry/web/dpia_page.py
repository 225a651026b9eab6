"""What a DPIA's own page shows beside the shared record sections: the ICO's seven steps and
how far each has got, and what the person looking may do with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..governance import dpia as advice_rules
from ..governance import registration
from ..governance.permissions import allowed
from ..records import DPIA
from .auth import current_actor


@dataclass(frozen=True)
class Step:
    slug: str
    number: int
    title: str
    hint: str
    gate_ids: tuple[str, ...]


STEPS = (
    Step("need", 1, "Identify the need for a DPIA",
         "Explain what the project aims to achieve and what processing it involves. Say why a "
         "DPIA is needed: the screening questions that pointed to high risk.", ("step_need",)),
    Step("processing", 2, "Describe the processing",
         "The nature (how data is collected, used, stored and deleted; its source; who it is "
         "shared with), the scope (what data, how much, how often, how long, how many people, "
         "which area), the context (the relationship with the people, their expectations, "
         "children or vulnerable groups) and the purposes.", ("step_processing",)),
    Step("consultation", 3, "Consultation",
         "Whose views you sought and how: the people affected or their representatives, "
         "staff, processors, information security and other experts.", ("step_consultation",)),
    Step("necessity", 4, "Necessity and proportionality",
         "Your lawful basis; whether the processing achieves the purpose and whether there is "
         "another way; how you prevent function creep, ensure data quality and minimisation, "
         "inform people and support their rights; safeguards for transfers.",
         ("step_necessity",)),
    Step("risks", 5, "Identify and assess risks",
         "Each risk to people's rights and freedoms, with its likelihood and severity.",
         ("step_risks",)),
    Step("measures", 6, "Measures to reduce risk",
         "For each risk: the measure, its effect on the risk, and the residual likelihood and "
         "severity.", ("step_measures", "prior_consultation")),
    Step("signoff", 7, "Sign off and record outcomes",
         "Who approved the measures and the residual risk, any prior consultation with the ICO, "
         "and when the DPIA will be reviewed.", ("step_signoff", "review_date")),
)
BY_SLUG = {s.slug: s for s in STEPS}
TEXT_STEPS = ("need", "processing", "consultation", "necessity")
SCALE = {1: ("Remote", "Minimal"), 2: ("Possible", "Significant"), 3: ("Probable", "Severe")}
RISK_FIELDS = ("description", "likelihood", "severity", "measure", "effect",
               "residual_likelihood", "residual_severity")


def can_edit(p: DPIA) -> bool:
    actor = current_actor()
    return (allowed(actor, "register") and p.state in registration.EDITABLE
            and actor.user_id in (p.owner_id, p.created_by_id))


def step_status(p: DPIA, gate: Any) -> dict[str, dict[str, Any]]:
    """Each step's tag, from the gate's own requirements so the task list and the checklist
    never disagree, and, for a step not completed, why (`why`: the unmet requirements'
    details, e.g. a high residual risk needing prior consultation)."""
    met = {r.id: r.met for r in gate.requirements}
    details = {r.id: r.detail for r in gate.requirements if not r.met}
    started = {
        "need": bool(p.need.strip()), "processing": bool(p.processing.strip()),
        "consultation": bool(p.consultation.strip()), "necessity": bool(p.necessity.strip()),
        "risks": bool(p.risks),
        "measures": any((r.measure or "").strip() for r in p.risks),
        "signoff": bool(p.measures_approved_by_id or p.residual_risk_approved_by_id
                        or p.review_date),
    }
    status = {}
    for step in STEPS:
        done = all(met.get(g, True) for g in step.gate_ids)
        if done:
            status[step.slug] = {"tag": {"text": "Completed", "classes": "govuk-tag--green"}}
        elif started[step.slug]:
            status[step.slug] = {"tag": {"text": "In progress", "classes": "govuk-tag--light-blue"}}
        else:
            status[step.slug] = {"tag": {"text": "Not started", "classes": "govuk-tag--grey"}}
        why = [details[g] for g in step.gate_ids if g in details]
        if why and not done:
            status[step.slug]["why"] = "Not complete: " + "; ".join(why)
    return status


def page_context(p: DPIA) -> dict[str, Any]:
    """Extra context for the DPIA's own page (the record page adds the shared sections)."""
    actor = current_actor()
    return {
        "dpia": p, "steps": STEPS, "scale": SCALE, "can_edit": can_edit(p),
        "can_advise": allowed(actor, "dpo_advice") and p.state in advice_rules.OPEN,
        "can_respond": (allowed(actor, "respond_to_advice") and p.state in advice_rules.OPEN
                        and bool(p.dpo_advice)),
        "step_status": step_status,
    }
