"""Downloading a dataset's data from its page: the use case the API takes too, which puts the
download on the ledger before the data leaves (the route belongs to the record pages' blueprint).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from ..usecases import watch
from .auth import login_required, unit
from .pages import bp


@bp.route("/datasets/<int:record_id>/data")
@login_required
def download_data(record_id: int) -> Any:
    filename, data = watch.download_data(unit(), record_id)
    kind = "application/vnd.apache.parquet" if filename.endswith(".parquet") else "text/csv"
    return Response(data, mimetype=kind, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
