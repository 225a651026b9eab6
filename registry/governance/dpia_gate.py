"""The DPIA's gate: the ICO's seven steps written, risks scored and treated, the DPO's advice
answered, and a review date within policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from ..records import DPIA
from .dpia import SIGNOFFS, authors, signer_problem
from .policy import Policy

Add = Callable[[str, bool, str, str], None]

STEPS = (("need", "step 1: the need and screening"), ("processing", "step 2: the processing"),
         ("consultation", "step 3: consultation"),
         ("necessity", "step 4: necessity and proportionality"))


def check(p: DPIA, policy: Policy, today: date, add: Add) -> None:
    """Add each of the DPIA's requirements with `add(id, met, detail, remedy)`."""
    for attr, title in STEPS:
        text = (getattr(p, attr) or "").strip()
        add(f"step_{attr}", bool(text), f"{title}: " + ("written" if text else "empty"),
            f"describe {title.split(': ', 1)[1]}")
    unscored = [r.position + 1 for r in p.risks if r.level is None]
    add("step_risks", bool(p.risks) and not unscored,
        f"{len(p.risks)} risks scored" if p.risks and not unscored
        else ("no risks identified" if not p.risks
              else f"risk(s) {unscored} lack likelihood or severity"),
        "list each risk with likelihood and severity (1-3 each)")
    incomplete = [r.position + 1 for r in p.risks
                  if not (r.measure or "").strip() or r.effect is None or r.residual_level is None]
    add("step_measures", bool(p.risks) and not incomplete,
        "every risk has a measure and a residual risk" if p.risks and not incomplete
        else f"risk(s) {incomplete or 'none'} lack a measure, its effect or the residual risk",
        "record a measure, its effect and the residual likelihood and severity for each risk")
    signed = {what: (getattr(p, field[:-3]), signer_problem(getattr(p, field[:-3]),
                                                           p.organisation_id, authors(p)))
              for field, what in SIGNOFFS.items()}
    unsigned = [f"{what}: " + ("not signed off" if user is None else why)
                for what, (user, why) in signed.items() if user is None or why]
    add("step_signoff", not unsigned,
        "measures approved by {} and residual risk accepted by {}".format(
            *(user.name or user.email for user, _ in signed.values()))
        if not unsigned else "step 7 sign-off: " + "; ".join(unsigned),
        "a governance officer or DPO of the organisation, not its author, signs off the measures "
        "and the residual risk (step 7)")
    high = [r.position + 1 for r in p.risks if r.residual_level == "high"]
    if high:
        add("prior_consultation", bool((p.prior_consultation or "").strip()),
            f"high residual risk (risk {high}); prior consultation: "
            + ((p.prior_consultation or "").strip() or "not recorded"),
            "consult the ICO before processing (GDPR Art. 36) and record the outcome")
    add("dpo_advice", bool((p.dpo_advice or "").strip()),
        "the DPO's advice is recorded" if p.dpo_advice else "no advice from the DPO yet",
        "the DPO records advice (POST .../dpo-advice)")
    answered = p.dpo_advice_accepted is not None and bool((p.dpo_response_reason or "").strip())
    add("dpo_response", answered,
        ("advice accepted" if p.dpo_advice_accepted else "advice overruled")
        + f": {p.dpo_response_reason}" if answered
        else "the officer has not accepted or overruled the DPO's advice with reasons",
        "a governance officer accepts or overrules the advice, with reasons")
    latest = today + timedelta(days=policy.dpia_review_max_days)
    ok = p.review_date is not None and today <= p.review_date <= latest
    add("review_date", ok, f"review due {p.review_date}" if ok
        else f"review date {p.review_date or 'missing'} is not between today and {latest}",
        f"set a review date within {policy.dpia_review_max_days} days")
