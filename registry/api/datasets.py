"""Datasets: the shared governed routes plus the data upload."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from ..governance import registration
from ..records import Dataset
from ..usecases import evidence
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

    return blp
