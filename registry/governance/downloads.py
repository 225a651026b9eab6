"""Downloading a dataset's uploaded data: allowed to those who work with it, and every download
chained in the ledger (who, which data, when) for auditors to list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..platform.storage import FileStore
from ..records import Dataset
from . import ledger
from .actors import Actor
from .errors import Conflict, NotFound
from .permissions import require


def download_data(session: Session, actor: Actor, dataset: Dataset, store: FileStore,
                  now: datetime) -> tuple[str, bytes]:
    """The dataset's data as uploaded (opened if sealed) and a file name for it; the download
    is on the ledger before the data leaves."""
    actor = actor.within(dataset.organisation_id)  # the roles held in its organisation
    require(actor, "download_data")
    if not dataset.data_path:
        raise NotFound(f"{dataset.label} has no uploaded data", {"data": ["none uploaded"]})
    if not store.exists(dataset.data_path):
        raise Conflict(f"the data of {dataset.label} is missing from the file store; upload it "
                       "again", {"data": ["missing from the file store"]})
    data = store.read(dataset.data_path)
    ledger.append(session, actor, "download_data", "dataset", dataset.id, {
        "content_hash": dataset.content_hash, "format": dataset.data_format,
        "rows": dataset.row_count, "bytes": len(data)}, now)
    return f"{dataset.name}.{dataset.data_format or 'csv'}", data
