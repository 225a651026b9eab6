"""The rows a version is checked and explained on, read from its datasets and never guessed.

The self-check scores rows of the version's first evaluation dataset. The explanation background
is what the data scientist chose at upload, ``{"dataset_id", "rows", "seed"}``: ``rows`` rows
drawn from that dataset with that seed (the whole dataset if it has no more rows). For models
explained against it (gradient boosting on the probability scale, linear models) the SHAP base
value is the model's mean output over exactly those rows. Random forests, histogram gradient
boosting and log-odds explanations use shap's tree-path mode, whose base value is the training
data's own mean (the trees' cover): there the background is drawn and recorded but the base
value does not depend on it. (Moving those to the background as well is open: it needs a latency
check on large forests.)
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from ..platform.storage import FileStore
from ..records import Dataset, ModelVersion

if TYPE_CHECKING:
    import pandas as pd

CHECK_ROWS = 500  # evaluation rows the self-check scores and explains
BACKGROUND_ROWS = 100  # the background's rows unless chosen: SHAP's cost grows with them
BACKGROUND_SEED = 0


def read_dataset(dataset: Dataset, store: FileStore) -> pd.DataFrame:
    from ..analysis import tables

    rules = tables.rules_from(dataset.columns)
    return tables.load_stored(
        store.read(dataset.data_path or ""), dataset.data_format or "csv", rules
    )


def evaluation_sample(version: ModelVersion, store: FileStore) -> pd.DataFrame:
    """Rows of the first evaluation dataset with data (a fixed sample, for repeatability)."""
    dataset = next((d for d in version.evaluation_datasets if d.data_path), None)
    if dataset is None:
        raise ValueError("no evaluation dataset with uploaded data to check the model on")
    frame = read_dataset(dataset, store)
    return frame.sample(n=CHECK_ROWS, random_state=0) if len(frame) > CHECK_ROWS else frame


def background_dataset(version: ModelVersion) -> Dataset:
    """The background's dataset: one of the version's own, else it is not a valid choice."""
    chosen = (version.background or {}).get("dataset_id")
    if chosen is None:
        raise ValueError(f"{version.label} has no explanation background chosen")
    found = next((d for d in [*version.training_datasets, *version.evaluation_datasets]
                  if d.id == chosen), None)
    if found is None:
        raise ValueError(f"the explanation background, dataset {chosen}, is not a training or "
                         f"evaluation dataset of {version.label}")
    if not found.data_path:
        raise ValueError(f"the explanation background, {found.label}, has no uploaded data")
    return found


def background_sample(version: ModelVersion, store: FileStore) -> pd.DataFrame:
    """The background rows chosen at upload, drawn the same way every time."""
    frame = read_dataset(background_dataset(version), store)
    choice = version.background or {}
    rows, seed = int(choice.get("rows", BACKGROUND_ROWS)), int(choice.get("seed", BACKGROUND_SEED))
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=seed)


def sample_record(frame: pd.DataFrame) -> dict[str, Any]:
    """What identifies a sample: its size and a hash of its rows, in order."""
    import pandas as pd

    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return {"rows": len(frame), "sha256": hashlib.sha256(row_hashes.tobytes()).hexdigest()}
