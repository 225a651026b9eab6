"""Decisions taken from a record's page: approve, reject, send back, suspend, reinstate, retire.

The routes belong to the record pages' blueprint; the decision is the use case the API takes
too (`usecases.decisions.decide`), the rules are in `governance/lifecycle`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, request

from ..governance import gates, registration
from ..governance.errors import GovernanceError
from ..governance.permissions import require
from ..platform.services import db, services
from ..records import Governed
from ..records.decisions import DECISIONS
from ..usecases import decisions
from . import forms
from .auth import current_actor, login_required, unit
from .pages import bp, render_record
from .present import DECISION_PAST, ROLE_NAMES, record_name, record_url


def decide_on(record: Governed) -> Any:
    """Record a decision from the form, or show the page again with what stopped it."""
    actor = current_actor()
    require(actor, "decide")  # before reading the form: a refusal says "not you", not "fix this"
    decision = request.form.get("decision", "")
    if decision not in DECISIONS:
        abort(400, "choose a decision")
    rationale = request.form.get("rationale", "")
    conditions = request.form.get("conditions", "").strip() or None
    approved_until: date | None = None
    errors: list[dict[str, str]] = []
    if not rationale.strip():
        errors.append({"text": "Enter the reasons for your decision", "href": "#rationale"})
    if decision in ("approve", "reinstate"):
        approved_until, problem = forms.date_field(request.form, "approved_until")
        if problem:
            errors.append({"text": problem, "href": "#approved_until-day"})
    if not errors:
        try:
            made = decisions.decide(unit(), record, decision, rationale, conditions, approved_until)
        except GovernanceError as exc:
            return render_record(record, exc.status, errors=forms.summary(exc, "#decision"),
                                 form=request.form, field_errors=forms.by_field(
                                     forms.summary(exc, "#decision")))
        flash(_outcome(record, made), "success")
        return redirect(record_url(record))
    return render_record(record, 422, errors=errors, form=request.form,
                         field_errors=forms.by_field(errors))


def _outcome(record: Any, made: Any) -> str:
    """What the decision did, for the banner: a round still short of people says who."""
    name = record_name(record)
    if made.decision in ("approve", "reinstate") and made.to_state != "approved":
        missing = gates.approvals_missing(db(), record, services().policy)
        who = " and ".join(f"the {ROLE_NAMES.get(r, r)}" for r in missing)
        act = "approval" if made.decision == "approve" else "reinstatement"
        return (f"{name}: your {act} is recorded. It takes effect once {who} also "
                f"{'approves' if act == 'approval' else 'reinstates'} it.")
    return (f"{name}: {DECISION_PAST.get(made.decision, made.decision).lower()}. The decision "
            "is recorded in the ledger.")


@bp.route("/agreements/<int:record_id>/decisions", methods=["POST"])
@bp.route("/datasets/<int:record_id>/decisions", methods=["POST"], endpoint="decide_dataset")
@bp.route("/dpias/<int:record_id>/decisions", methods=["POST"], endpoint="decide_dpia")
@login_required
def decide_by_id(record_id: int) -> Any:
    kind = request.path.split("/")[1].rstrip("s")
    return decide_on(registration.get(db(), kind, record_id))


@bp.route("/models/<name>/decisions", methods=["POST"])
@login_required
def decide_model(name: str) -> Any:
    return decide_on(registration.get(db(), "model", name))


@bp.route("/models/<name>/versions/<int:number>/decisions", methods=["POST"])
@login_required
def decide_version(name: str, number: int) -> Any:
    return decide_on(registration.get(db(), "model_version", (name, number)))
