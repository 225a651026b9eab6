"""The upload check: a model version proven to score and explain correctly, and timed."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from ._explainer import Explainer, Explanation
from ._rows import records


def self_check(
    explainer: Explainer, sample: pd.DataFrame, pipeline: Any, *, latency_rows: int = 50
) -> dict[str, Any]:
    """Prove a model version scores and explains correctly, and time it.

    On ``sample`` (evaluation data): the largest ``|base + sum(contributions) -
    explained_value|`` and ``|score - pipeline.predict_proba[:, 1]|``, over the batch and
    over ``latency_rows`` rows scored one at a time as dicts (the serving path), whose
    per-row score-and-explain latency is reported as p50/p95 in milliseconds.
    """
    expected = pipeline.predict_proba(sample[explainer.input_columns])[:, 1]
    batch = explainer.score_and_explain(sample)
    rows = records(sample.iloc[:latency_rows])
    explainer.score_and_explain(rows[0])  # warm-up
    single, timings = [], []
    for record in rows:
        start = time.perf_counter()
        single.extend(explainer.score_and_explain(record))
        timings.append((time.perf_counter() - start) * 1000.0)

    def additivity(items: list[Explanation]) -> float:
        return max(
            abs(e.base_value + sum(c["contribution"] for c in e.contributions) - e.explained_value)
            for e in items
        )

    score_error = max(
        float(np.max(np.abs(np.array([e.score for e in batch]) - expected))),
        float(np.max(np.abs(np.array([e.score for e in single]) - expected[: len(single)]))),
    )
    return {
        "rows": len(sample),
        "method": explainer.method,
        "scale": explainer.scale,
        "additivity_target": "score" if explainer.scale == "probability" else "logit(score)",
        "fastpath": explainer.fastpath,
        "fastpath_reason": explainer.fastpath_reason,
        "max_additivity_error": max(additivity(batch), additivity(single)),
        "max_score_error": score_error,
        "latency_ms_p50": float(np.percentile(timings, 50)),
        "latency_ms_p95": float(np.percentile(timings, 95)),
        "latency_rows": len(timings),
    }
