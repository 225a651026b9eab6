"""Encryption at rest for what was stored before it was on, or before its data was known to be
personal: sealing files and receipt columns in place, and the data key's rotation.

Sealing in place is idempotent and resumable: a file is replaced by its sealed copy in one
step (a reader sees one or the other, and opens both), a file already sealed is left alone,
and receipts are sealed and committed a batch at a time, so an interrupted run is simply run
again. Nothing is ever unsealed: data reclassified down stays sealed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import JSON, select, type_coerce, update
from sqlalchemy.orm import Session

from ..platform.sealing import MAGIC, TEXT_PREFIX, Keyring
from ..platform.storage import FileStore
from ..records import Dataset, DriftCheck, DriftMonitor, ScoreReceipt
from ..records.datasets import PERSONAL_CLASSIFICATIONS
from . import ledger
from .actors import Actor

RECEIPTS_PER_COMMIT = 500
BATCHES = "batches"  # drift batches uploaded and waiting for their check (see usecases.evidence)


def sealed_at_rest(classification: str) -> bool:
    """Data that still relates to identifiable people is stored encrypted."""
    return classification in PERSONAL_CLASSIFICATIONS


def seal_file(store: FileStore, relative: str | None) -> bool | None:
    """Seal a stored file in place: True if it was sealed now, False if it already was, None if
    there is no such file (deleted by retention, say)."""
    if not relative or not store.exists(relative):
        return None
    with open(store.path(relative), "rb") as handle:
        if handle.read(len(MAGIC)) == MAGIC:
            return False
    store.write(relative, store.path(relative).read_bytes(), seal=True)
    return True


def reseal_dataset(store: FileStore, dataset: Dataset) -> bool:
    """After a dataset's classification changed: its file sealed if it is now personal data.
    One reclassified down is left sealed."""
    return bool(sealed_at_rest(dataset.classification) and seal_file(store, dataset.data_path))


@dataclass
class SealedCounts:
    """What `encrypt_existing` found, by kind: sealed now, and already sealed."""

    now: dict[str, int] = field(default_factory=dict)
    already: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, outcome: bool | None) -> None:
        if outcome is not None:
            tally = self.now if outcome else self.already
            tally[kind] = tally.get(kind, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.now.values())


KINDS = ("dataset files", "drift references", "drift batches", "drift reports",
         "receipt inputs", "receipt explanations")


def encrypt_existing(session: Session, store: FileStore, actor: Actor, now: datetime
                     ) -> SealedCounts:
    """Seal every personal dataset's file, drift reference, waiting drift batch and drift report,
    and the inputs and explanations of every receipt, that were stored unsealed; the run is
    recorded in the ledger if it sealed anything."""
    found = SealedCounts()
    unscoped = {"gatehouse_unscoped": True}  # every organisation's
    for dataset in session.scalars(select(Dataset).where(
            Dataset.classification.in_(PERSONAL_CLASSIFICATIONS)).execution_options(**unscoped)):
        found.count("dataset files", seal_file(store, dataset.data_path))
    for path in session.scalars(select(DriftMonitor.reference_path)):
        found.count("drift references", seal_file(store, path))
    for path in session.scalars(select(DriftCheck.report_path).where(
            DriftCheck.report_path.is_not(None))):
        found.count("drift reports", seal_file(store, path))
    waiting = store.root / BATCHES
    for path in sorted(waiting.rglob("*")) if waiting.is_dir() else []:
        if path.is_file() and not path.name.startswith("."):
            found.count("drift batches", seal_file(store, str(path.relative_to(store.root))))
    _seal_receipts(session, found)
    if found.total:
        ledger.append(session, actor, "encrypt_existing", "data", "at_rest",
                      {"sealed": found.now}, now)
        session.commit()
    return found


def _seal_receipts(session: Session, found: SealedCounts) -> None:
    """Re-write each receipt's unsealed inputs and explanation through their sealed columns,
    committing a batch at a time."""
    for rows in _receipt_pages(session):
        for receipt_id, inputs, explanation in rows:
            changes = {}
            for name, kind, raw in (("inputs", "receipt inputs", inputs),
                                    ("explanation", "receipt explanations", explanation)):
                if raw is None:
                    continue
                plain = not (isinstance(raw, str) and raw.startswith(TEXT_PREFIX))
                found.count(kind, plain)
                if plain:
                    changes[name] = raw
            if changes:
                session.execute(update(ScoreReceipt).where(ScoreReceipt.id == receipt_id)
                                .values(**changes))
        session.commit()


def _receipt_pages(session: Session) -> Iterator[list[tuple[str, object, object]]]:
    """The receipts' columns as stored (not opened), in pages by id."""
    after = ""
    while True:
        page = session.execute(
            select(ScoreReceipt.id, type_coerce(ScoreReceipt.inputs, JSON),
                   type_coerce(ScoreReceipt.explanation, JSON))
            .where(ScoreReceipt.id > after,
                   (ScoreReceipt.inputs.is_not(None)) | (ScoreReceipt.explanation.is_not(None)))
            .order_by(ScoreReceipt.id).limit(RECEIPTS_PER_COMMIT)).all()
        if not page:
            return
        yield [tuple(row) for row in page]  # type: ignore[misc]
        after = page[-1][0]


def rotate_data_key(session: Session, keyring: Keyring, actor: Actor, now: datetime
                    ) -> tuple[str | None, str, int]:
    """A new data key for what is sealed from now on, the old ones kept to open what they
    sealed; recorded in the ledger (key ids only)."""
    old, new, held = keyring.rotate_data()
    ledger.append(session, actor, "rotate_data_key", "data", "at_rest",
                  {"data_key": new, "previous": old, "keys_held": held}, now)
    return old, new, held


def rotate_master_key(session: Session, keyring: Keyring, actor: Actor, now: datetime
                      ) -> tuple[str, str, int]:
    """A new master key re-wraps every data key (nothing stored is re-encrypted); recorded in
    the ledger (key ids only)."""
    old, new, count = keyring.rotate_master()
    ledger.append(session, actor, "rotate_master_key", "data", "at_rest",
                  {"master_key": new, "previous": old, "data_keys": count}, now)
    return old, new, count
