"""SQLAlchemy 2.0 typed models of the governed records, one module per kind.

The modules that map records do not postpone their annotations (no `from __future__ import
annotations`): SQLAlchemy then reads each `Mapped[...]` as the type itself, instead of evaluating
a string for every column of every class at each start (issue 17: the command line's start-up).
A relationship to a class defined later, or in another module, names it in quotes."""

from .agreements import DataSharingAgreement, agreement_datasets
from .base import Base, Governed
from .datasets import Dataset, DatasetColumn
from .decisions import Decision, LedgerEntry, LedgerHead, RefusalTally
from .dpias import DPIA, DpiaRisk, dpia_datasets, dpia_models
from .ledger_signing import LedgerCheckpoint, SigningKey
from .models import ModelVersion, PredictiveModel, version_datasets
from .monitoring import BiasAudit, DriftCheck, DriftMonitor, WatchAlert
from .notifications import Delivery, Event, EventCursor, VersionLapse, Webhook
from .people import ApiClient, Membership, Organisation, User
from .serving import Job, OutcomeReport, ReceiptBatch, ScoreReceipt

__all__ = [
    "DPIA",
    "ApiClient",
    "Base",
    "BiasAudit",
    "DataSharingAgreement",
    "Dataset",
    "DatasetColumn",
    "Decision",
    "Delivery",
    "DpiaRisk",
    "DriftCheck",
    "DriftMonitor",
    "Event",
    "EventCursor",
    "Governed",
    "Job",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHead",
    "Membership",
    "ModelVersion",
    "Organisation",
    "PredictiveModel",
    "ReceiptBatch",
    "RefusalTally",
    "OutcomeReport",
    "ScoreReceipt",
    "SigningKey",
    "User",
    "VersionLapse",
    "WatchAlert",
    "Webhook",
    "agreement_datasets",
    "dpia_datasets",
    "dpia_models",
    "version_datasets",
]
