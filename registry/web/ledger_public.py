"""The ledger's signed checkpoints and public keys, open to everyone without signing in, so that
anyone can keep a copy and later check the register against it (README: "How to check this
register from outside")."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..governance.checkpoints import published
from ..platform.services import db, services

bp = Blueprint("ledger_public", __name__)


@bp.route("/transparency/ledger/checkpoints")
def checkpoints() -> Response:
    response = jsonify(published(db(), services().keys))
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"  # the head moves with every change
    return response
