"""An agreement's stages per permitted purpose, edited from its page while it may be changed.

The routes belong to the record pages' blueprint; saving is the API's edit
(`usecases.records.edit`), the rules are in `governance/registration`.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request

from ..governance import registration
from ..governance.errors import GovernanceError
from ..platform.services import db
from ..records import DataSharingAgreement
from ..usecases import records
from . import forms
from .auth import login_required, unit
from .pages import bp, render_record
from .present import record_name, record_url


@bp.route("/agreements/<int:record_id>/stages", methods=["POST"])
@login_required
def edit_stages(record_id: int) -> Any:
    record = registration.get(db(), "agreement", record_id)
    assert isinstance(record, DataSharingAgreement)
    ticked = {p: request.form.getlist(f"stages-{p}") for p in record.purposes}
    try:
        records.edit(unit(), record, {"stages": ticked})
    except GovernanceError as exc:
        errors = forms.summary(exc, "#stages")
        return render_record(record, exc.status, errors=errors,
                             field_errors=forms.by_field(errors))
    flash(f"{record_name(record)}: what each purpose covers is saved.", "success")
    return redirect(record_url(record) + "#stages")
