"""Datasets: the shared governed routes plus the data upload."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from sqlalchemy import select

from ..governance import registration
from ..governance.errors import Invalid
from ..platform.services import db, services
from ..records import Dataset
from . import current_actor
from . import schemas as s
from .governed import governed_routes, now


def uploaded_file(field: str) -> tuple[str, bytes]:
    """The named multipart file, or the raw body when the client sent the file alone."""
    upload = request.files.get(field)
    if upload is not None:
        return upload.filename or "", upload.read()
    if request.mimetype in (
        "text/csv",
        "application/octet-stream",
        "application/vnd.apache.parquet",
    ):
        name = "upload.parquet" if "parquet" in request.mimetype else "upload.csv"
        return name, request.get_data()
    raise Invalid(f"send the file as multipart field {field!r}", {field: ["missing"]})


def blueprint() -> Blueprint:
    blp = Blueprint(
        "datasets",
        __name__,
        url_prefix="/api/v1/datasets",
        description="Datasets: schema, coverage by agreements, uploaded data.",
    )

    @blp.route("", methods=["POST"])
    @blp.arguments(s.DatasetIn)
    @blp.response(201, s.DatasetOut)
    def create(data: dict[str, Any]) -> Any:
        record = registration.create(db(), current_actor(), "dataset", data, now())
        db().commit()
        return record

    @blp.route("/<int:record_id>/data", methods=["PUT"])
    @blp.arguments(s.UploadIn, location="files")
    @blp.response(200, s.DatasetOut)
    @blp.alt_response(413, description="larger than the upload limit")
    def upload(_files: Any, record_id: int) -> Any:
        dataset = registration.get(db(), "dataset", record_id)
        filename, data = uploaded_file("file")
        registration.upload_data(
            db(), current_actor(), dataset, filename, data, services().store, now()
        )
        db().commit()
        return dataset

    governed_routes(
        blp,
        "dataset",
        "/<int:record_id>",
        lambda record_id: record_id,
        s.DatasetIn,
        s.DatasetOut,
        list_query=lambda: select(Dataset),
    )
    return blp
