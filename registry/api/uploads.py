"""Files sent to the API: as a multipart field, or as the raw body."""

from __future__ import annotations

from flask import request

from ..governance.errors import Invalid

RAW_TYPES = ("text/csv", "application/octet-stream", "application/vnd.apache.parquet")


def sent_raw() -> bool:
    """Whether the body itself is the file."""
    return request.mimetype in RAW_TYPES


def uploaded_file(field: str) -> tuple[str, bytes]:
    """The named multipart file, or the raw body when the client sent the file alone."""
    upload = request.files.get(field)
    if upload is not None:
        return upload.filename or "", upload.read()
    if sent_raw():
        name = "upload.parquet" if "parquet" in request.mimetype else "upload.csv"
        return name, request.get_data()
    raise Invalid(f"send the file as multipart field {field!r}", {field: ["missing"]})
