"""Decisions on a version's evidence taken from its page: accept or decline a proposed change to
its bias audit or drift monitor; waive or acknowledge the items of a gap.

The routes belong to the record pages' blueprint; the decisions are the use cases the API takes
too (`usecases.decisions`), the rules are in `governance/proposals` and `governance/waivers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request

from ..governance import proposals, registration
from ..governance.errors import GovernanceError
from ..governance.evidence import EVIDENCE_WORDS, kind_of
from ..governance.permissions import require
from ..platform.services import db
from ..records import Decision, ModelVersion
from ..usecases import decisions
from . import forms
from .auth import current_actor, login_required, unit
from .changes import gap_anchor
from .pages import bp, render_record
from .present import record_name, record_url

VERSION = "/models/<name>/versions/<int:number>"


def _version(name: str, number: int) -> ModelVersion:
    version = registration.get(db(), "model_version", (name, number))
    assert isinstance(version, ModelVersion)
    return version


def _again(version: ModelVersion, anchor: str, status: int, errors: list[dict[str, str]]) -> Any:
    """The version page again, with what stopped the decision and what was typed in its form."""
    typed = {"anchor": anchor, "rationale": request.form.get("rationale", ""),
             "items": request.form.getlist("items")}
    return render_record(version, status, errors=errors, evidence_form=typed,
                         field_errors=forms.by_field(errors))


def _decide(version: ModelVersion, anchor: str, errors: list[dict[str, str]],
            take: Callable[[], Decision]) -> Decision | Any:
    """Ask for the reasons too; take the decision (its use case commits it); on any refusal, the
    version page again with what stopped it."""
    if not request.form.get("rationale", "").strip():
        errors.append({"text": "Enter the reasons for your decision",
                       "href": f"#{anchor}-rationale"})
    if errors:
        return _again(version, anchor, 422, errors)
    try:
        made = take()
    except GovernanceError as exc:
        return _again(version, anchor, exc.status,
                      forms.summary(exc, f"#{anchor}", prefix=f"{anchor}-"))
    return made


@bp.route(f"{VERSION}/proposals/<kind>/<int:evidence_id>", methods=["POST"])
@login_required
def settle_proposal(name: str, number: int, kind: str, evidence_id: int) -> Any:
    actor = current_actor()
    require(actor, "decide")  # before reading the form: a refusal says "not you", not "fix this"
    version = _version(name, number)
    proposed = proposals.get(db(), version, kind, evidence_id)
    anchor = f"proposal-{kind}-{evidence_id}"
    decision = request.form.get("decision", "")
    errors = []
    if decision not in ("accept", "decline"):
        errors.append({"text": "Choose whether to accept or decline the change",
                       "href": f"#{anchor}-decision"})
    made = _decide(version, anchor, errors, lambda: decisions.settle(
        unit(), version, proposed, decision == "accept", request.form["rationale"]))
    if not isinstance(made, Decision):
        return made
    flash(f"{record_name(version)}: the proposed {EVIDENCE_WORDS[kind_of(proposed)]} was "
          f"{'accepted and is now in force' if decision == 'accept' else 'declined'}. The "
          "decision is recorded in the ledger.", "success")
    return redirect(record_url(version) + "#proposals")


@bp.route(f"{VERSION}/waivers", methods=["POST"])
@login_required
def waive_gap(name: str, number: int) -> Any:
    actor = current_actor()
    require(actor, "decide")
    version = _version(name, number)
    requirement = request.form.get("requirement", "")
    evidence = request.form.get("evidence", "")
    anchor = gap_anchor(requirement, evidence)
    items = request.form.getlist("items")
    errors = []
    if not items:
        errors.append({"text": "Select each item you waive or acknowledge",
                       "href": f"#{anchor}-items"})
    made = _decide(version, anchor, errors, lambda: decisions.waive(
        unit(), version, requirement, items, request.form["rationale"], evidence or None))
    if not isinstance(made, Decision):
        return made
    flash(f"{record_name(version)}: {', '.join(items)} "
          f"{'acknowledged' if made.decision == 'acknowledge' else 'waived'}. The decision is "
          "recorded in the ledger.", "success")
    return redirect(record_url(version) + "#gaps")
