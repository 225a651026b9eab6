"""Datasets: the shared governed routes plus the data upload."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from ..governance import registration
from ..records import Dataset
from ..usecases import evidence, watch
from ..usecases.inputs import DatasetIn
from . import schemas as s
from .auth import unit
from .governed import by_id
from .uploads import uploaded_file


def blueprint() -> Blueprint:
    blp = by_id("dataset", "datasets", "Datasets: schema, coverage by agreements, uploaded data.",
                DatasetIn, s.DatasetOut)

    @blp.route("/<int:record_id>/data", methods=["PUT"])
    @blp.arguments(s.UploadIn, location="files")
    @blp.response(200, s.DatasetOut)
    @blp.alt_response(413, description="larger than the upload limit")
    def upload(_files: Any, record_id: int) -> Any:
        u = unit()
        dataset = registration.get(u.session, "dataset", record_id)
        assert isinstance(dataset, Dataset)
        filename, data = uploaded_file("file")
        return evidence.upload_data(u, dataset, filename, data)

    @blp.route("/<int:record_id>/data", methods=["GET"])
    @blp.response(200, description="the data as uploaded (CSV or Parquet); each download is on "
                  "the ledger (download_data), for auditors to list")
    @blp.alt_response(409, description="the data may no longer be relied on (the dataset or an "
                      "agreement under it lapsed, expired or was suspended): the reason is "
                      "given, and the refusal is on the ledger (download_refused)")
    def download(record_id: int) -> Any:
        filename, data = watch.download_data(unit(), record_id)
        kind = "application/vnd.apache.parquet" if filename.endswith(".parquet") else "text/csv"
        return Response(data, mimetype=kind, headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store"})

    return blp
