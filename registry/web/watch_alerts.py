"""Acknowledging a watch alert from the version page (the route belongs to the record pages'
blueprint; the rule is `governance.watch.acknowledge`, the use case the API takes too)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request

from ..governance.errors import GovernanceError
from ..governance.permissions import require
from ..usecases import records, watch
from . import forms
from .auth import current_actor, login_required, unit
from .pages import bp, render_record
from .present import record_name, record_url


@bp.route("/models/<name>/versions/<int:number>/alerts/<int:alert_id>/acknowledge",
          methods=["POST"])
@login_required
def acknowledge_alert(name: str, number: int, alert_id: int) -> Any:
    require(current_actor(), "decide")  # before reading the form: "not you", not "fix this"
    version = records.find_version(unit(), name, number)
    anchor = f"watch-alert-{alert_id}"
    rationale = request.form.get("rationale", "")
    typed = {"anchor": anchor, "rationale": rationale}
    if not rationale.strip():
        errors = [{"text": "Enter what you found and what was done",
                   "href": f"#{anchor}-rationale"}]
        return render_record(version, 422, errors=errors, evidence_form=typed,
                             field_errors=forms.by_field(errors))
    try:
        watch.acknowledge(unit(), name, number, alert_id, rationale)
    except GovernanceError as exc:
        errors = forms.summary(exc, f"#{anchor}", prefix=f"{anchor}-")
        return render_record(version, exc.status, errors=errors, evidence_form=typed,
                             field_errors=forms.by_field(errors))
    flash(f"{record_name(version)}: watch alert {alert_id} acknowledged. It is recorded in the "
          "ledger.", "success")
    return redirect(record_url(version) + "#watch-alerts")
