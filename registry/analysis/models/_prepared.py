"""A model version made ready to serve: its artefact loaded safely and its explainer built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..explain import Explainer, FeatureSpec, self_check
from ._artefacts import load_artefact

NUMERIC = ("integer", "number", "boolean")


@dataclass
class Prepared:
    pipeline: Any
    explainer: Explainer
    features: list[dict[str, Any]]


def model_frame(frame: pd.DataFrame, features: list[dict[str, Any]]) -> pd.DataFrame:
    """The feature columns typed as the model saw them in training: floats, or objects with NaN."""
    out = {}
    for f in features:
        col = frame[f["name"]]
        if f["type"] in NUMERIC:
            out[f["name"]] = pd.to_numeric(col.astype("Float64"), errors="coerce").astype(float)
        else:
            out[f["name"]] = col.astype(object).where(col.notna(), np.nan)
    return pd.DataFrame(out)


def derive_features(pipeline: Any, columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The feature schema from the pipeline's own input names and the dataset's column schema."""
    names = [str(n) for n in getattr(pipeline, "feature_names_in_", [])]
    by_name = {c["name"]: c for c in columns}
    missing = [n for n in names if n not in by_name]
    if not names or missing:
        raise ValueError(
            "cannot derive the feature schema: "
            + (
                f"columns {missing} are not in the training dataset"
                if missing
                else "the pipeline does not record its input names"
            )
        )
    keys = ("name", "type", "description", "allowed", "minimum", "maximum")
    return [{k: by_name[n].get(k) for k in keys} for n in names]


def prepare(
    artefact: bytes,
    *,
    sha256: str,
    trusted: list[str],
    features: list[dict[str, Any]],
    background: pd.DataFrame,
) -> Prepared:
    """Verify and load the artefact, then build its explainer on exactly the background rows
    (the version's recorded choice: the explainer draws no sample of its own)."""
    pipeline = load_artefact(artefact, expected_sha256=sha256, extra_trusted=trusted)
    specs = [FeatureSpec(f["name"], f["type"], f.get("description")) for f in features]
    explainer = Explainer.build(pipeline, model_frame(background, features), specs,
                                background_size=len(background))
    return Prepared(pipeline, explainer, features)


def check_prepared(prepared: Prepared, sample: pd.DataFrame) -> dict[str, Any]:
    """Score and explain evaluation rows: additivity, agreement with the pipeline, latency."""
    return self_check(prepared.explainer, model_frame(sample, prepared.features), prepared.pipeline)
