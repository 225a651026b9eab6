"""The public page a person checks their decision letter's receipt code on, without signing in:
which model and version scored it, the approval in force, and whether the receipt is in a signed
checkpoint of the ledger. Nothing about the person, nor their score, is shown."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from ..governance.receipt_codes import verify_code
from ..platform.services import db, services

bp = Blueprint("verify", __name__)


@bp.route("/verify/<code>")
def receipt(code: str) -> Any:
    found = verify_code(db(), code[:64], services().keys.trusted())
    if found is None:
        return render_template("verify/unknown.html"), 404
    return render_template("verify/receipt.html", v=found)
