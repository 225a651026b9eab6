"""Downloading a dataset's uploaded data: allowed to those who work with it while the data may
still be relied on, and every download (and every refusal) chained in the ledger (who, which
data, when) for auditors to list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..platform.storage import FileStore
from ..records import Dataset, DataSharingAgreement, Governed
from . import chain, ledger, parties
from .actors import Actor
from .errors import Conflict, NotFound
from .gates import STATE_WORDS
from .permissions import require
from .policy import Policy

# States in which a record was stopped by a decision: nothing resting on it may be relied on.
STOPPED = frozenset({"suspended", "retired", "rejected"})


def refusal(session: Session, dataset: Dataset, policy: Policy, now: datetime) -> str | None:
    """Why the dataset's data may not leave the register today (in the officer's words), or
    None. An approved dataset must still be usable (approval as a lease, the chain rule: its
    agreements in force, unexpired, not suspended by either party); a dataset not yet approved
    may be downloaded back while it is being prepared, unless it or an agreement it rests on
    was stopped (a party suspending its side included) or an approved agreement under it has
    lapsed."""
    if dataset.state in STOPPED:
        return f"{dataset.label} is {STATE_WORDS[dataset.state]}"
    today = now.date()
    if dataset.state == "approved":
        usable = chain.usable(session, dataset, policy, today, now)
        return None if usable.ok else usable.reason.replace(f"{dataset.label} is not usable: ", "")
    for agreement in dataset.agreements:
        stopped = _stopped(session, agreement, policy, now)
        if stopped:
            return f"{dataset.label} rests on {stopped}"
    return None


def _stopped(session: Session, record: Governed, policy: Policy, now: datetime) -> str | None:
    if record.state in STOPPED:
        return f"{record.label}, which is {STATE_WORDS[record.state]}"
    side = parties.refusal(record) if isinstance(record, DataSharingAgreement) else None
    if side:  # a party stopped its side, approved or not: the data may not flow
        return f"{record.label}, which {side.removeprefix(record.label + ' ')}"
    if record.state == "approved":
        usable = chain.usable(session, record, policy, now.date(), now)
        if not usable.ok:
            return f"{record.label}, which may no longer be relied on: {usable.reason}"
    return None


def download_data(session: Session, actor: Actor, dataset: Dataset, store: FileStore,
                  policy: Policy, now: datetime) -> tuple[str, bytes]:
    """The dataset's data as uploaded (opened if sealed) and a file name for it; the download
    is on the ledger before the data leaves. Refused (409, on the ledger as
    ``download_refused``, committed) while the data may not be relied on (see `refusal`)."""
    actor = actor.within(dataset.organisation_id)  # the roles held in its organisation
    require(actor, "download_data")
    if not dataset.data_path:
        raise NotFound(f"{dataset.label} has no uploaded data", {"data": ["none uploaded"]})
    why = refusal(session, dataset, policy, now)
    if why:
        # The refusal is kept although the request is refused (committed here, before the
        # unit of work rolls back on the refusal): nothing else of the download was written.
        ledger.append(session, actor, "download_refused", "dataset", dataset.id,
                      {"reason": why, "content_hash": dataset.content_hash}, now)
        session.commit()
        raise Conflict(f"the data of {dataset.label} may not be downloaded: {why}",
                       {"state": dataset.state, "data": [why]})
    if not store.exists(dataset.data_path):
        raise Conflict(f"the data of {dataset.label} is missing from the file store; upload it "
                       "again", {"data": ["missing from the file store"]})
    data = store.read(dataset.data_path)
    ledger.append(session, actor, "download_data", "dataset", dataset.id, {
        "content_hash": dataset.content_hash, "format": dataset.data_format,
        "rows": dataset.row_count, "bytes": len(data)}, now)
    return f"{dataset.name}.{dataset.data_format or 'csv'}", data
