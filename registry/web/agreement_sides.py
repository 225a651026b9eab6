"""A party suspends its side of a shared agreement from the agreement's page, or lifts that.

The route belongs to the record pages' blueprint; the decision is the use case the API takes too
(`usecases.decisions.set_side`), the rules are in `governance/parties`.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request

from ..governance import registration
from ..governance.errors import GovernanceError
from ..platform.services import db
from ..records import DataSharingAgreement
from ..usecases import decisions
from . import forms
from .auth import login_required, unit
from .pages import bp, render_record
from .present import record_name, record_url


@bp.route("/agreements/<int:record_id>/sides/<side>", methods=["POST"])
@login_required
def set_side(record_id: int, side: str) -> Any:
    record = registration.get(db(), "agreement", record_id)
    assert isinstance(record, DataSharingAgreement)
    suspend = request.form.get("suspended") == "yes"
    rationale = request.form.get("side-rationale", "")
    if not rationale.strip():
        errors = [{"text": "Enter the reasons for your decision",
                   "href": f"#side-rationale-{side}"}]
        return render_record(record, 422, errors=errors, field_errors=forms.by_field(errors))
    try:
        decisions.set_side(unit(), record, side, suspend, rationale)
    except GovernanceError as exc:
        errors = forms.summary(exc, "#sides")
        return render_record(record, exc.status, errors=errors,
                             field_errors=forms.by_field(errors))
    flash(f"{record_name(record)}: the {side}'s side is "
          f"{'suspended' if suspend else 'in force again'}. The decision is recorded in your "
          "organisation's ledger.", "success")
    return redirect(record_url(record) + "#sides")
