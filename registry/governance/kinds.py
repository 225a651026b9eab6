"""The kinds of governed record, by the names URLs, ledger entries and events give them: a
module of its own, so that what only looks a kind up (raising events after every commit, the
command line's included) loads none of registration's rules."""

from __future__ import annotations

from ..records import DPIA, Dataset, DataSharingAgreement, Governed, ModelVersion, PredictiveModel

KINDS: dict[str, type[Governed]] = {
    "agreement": DataSharingAgreement,
    "dataset": Dataset,
    "dpia": DPIA,
    "model": PredictiveModel,
    "model_version": ModelVersion,
}
