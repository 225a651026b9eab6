"""Evaluation is not training: how much of a version's evaluation data its training data holds.

Each (evaluation, training) pair of datasets is compared: the same dataset, the same content
(content hash), or the share of the evaluation rows that also occur in the training data, rows
compared by a hash over the columns both datasets have. A pair overlaps when it is the same
dataset or content, or when that share is above the policy's ``max_shared_rows``; the version's
gate is then unmet until an officer waives each overlapping pair with reasons (see
:mod:`.gaps`). The comparison is recorded on the version at its self-check, with the datasets'
content hashes, so that a comparison of other data does not count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..platform.storage import FileStore
from ..records import Dataset, ModelVersion
from .policy import Policy
from .samples import read_dataset

if TYPE_CHECKING:
    import pandas as pd


def datasets_of(version: ModelVersion) -> dict[str, list[dict[str, Any]]]:
    """The datasets a comparison is of, with their content hashes: to tell if it is current."""
    return {role: [{"id": d.id, "content_hash": d.content_hash}
                   for d in sorted(datasets, key=lambda d: d.id)]
            for role, datasets in (("evaluation", version.evaluation_datasets),
                                   ("training", version.training_datasets))}


def is_current(version: ModelVersion) -> bool:
    recorded = version.evaluation_overlap or {}
    return {k: recorded.get(k) for k in ("evaluation", "training")} == datasets_of(version)


def compare(version: ModelVersion, store: FileStore, policy: Policy) -> dict[str, Any]:
    """Compare every evaluation dataset with every training dataset of the version."""
    frames: dict[int, pd.DataFrame] = {}

    def frame(d: Dataset) -> pd.DataFrame:
        if d.id not in frames:
            if not d.data_path:
                raise ValueError(f"{d.label} has no uploaded data to compare")
            frames[d.id] = read_dataset(d, store)
        return frames[d.id]

    pairs = []
    try:
        for e in sorted(version.evaluation_datasets, key=lambda d: d.id):
            for t in sorted(version.training_datasets, key=lambda d: d.id):
                pairs.append(_pair(e, t, frame, policy.max_shared_rows))
    except ValueError as exc:
        return {**datasets_of(version), "error": str(exc), "pairs": []}
    return {**datasets_of(version), "max_shared_rows": policy.max_shared_rows, "pairs": pairs}


def _pair(e: Dataset, t: Dataset, frame: Any, limit: float) -> dict[str, Any]:
    out: dict[str, Any] = {"evaluation": e.id, "evaluation_name": e.name, "training": t.id,
                           "training_name": t.name}
    if e.id == t.id:
        return {**out, "found": "same_dataset", "overlaps": True}
    if e.content_hash and e.content_hash == t.content_hash:
        return {**out, "found": "same_content", "overlaps": True}
    shared, rows = shared_rows(frame(e), frame(t))
    share = shared / rows if rows else 0.0
    return {**out, "found": "shared_rows", "shared_rows": shared, "rows": rows, "share": share,
            "overlaps": share > limit}


def shared_rows(evaluation: pd.DataFrame, training: pd.DataFrame) -> tuple[int, int]:
    """(evaluation rows also in the training data, evaluation rows), rows compared by a hash
    over the columns both frames have."""
    import pandas as pd

    columns = sorted(set(evaluation.columns) & set(training.columns))
    if not columns or evaluation.empty:
        return 0, len(evaluation)
    seen = set(pd.util.hash_pandas_object(training[columns], index=False))
    hashes = pd.util.hash_pandas_object(evaluation[columns], index=False)
    return int(hashes.isin(seen).sum()), len(evaluation)


def describe(pair: dict[str, Any]) -> str:
    """One overlapping pair in an officer's words: also the item a waiver names."""
    what = (f'evaluation dataset "{pair["evaluation_name"]}" and training dataset '
            f'"{pair["training_name"]}"')
    if pair["found"] == "same_dataset":
        return f'dataset "{pair["evaluation_name"]}" is both training and evaluation data'
    if pair["found"] == "same_content":
        return f"{what} have the same content"
    return (f"{what} share {pair['shared_rows']} of {pair['rows']} evaluation rows "
            f"({pair['share']:.1%})")
