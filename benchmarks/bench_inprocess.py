"""Benchmark: one-row score + explanation in process, sklearn pipeline vs the fast path.

    .venv/bin/python benchmarks/bench_inprocess.py [--rows 500] [--trees 100] [--batch 100]

Model: ColumnTransformer(StandardScaler on the 7 numeric columns, OneHotEncoder on the 14
categorical ones) + GradientBoostingClassifier(n_estimators=--trees), fitted on
tests/fixtures/german_credit.csv.

Baseline, per row (a 1-row DataFrame): ``pipeline.predict_proba`` + ``shap.TreeExplainer``
(the same settings the Explainer uses: interventional, model_output="probability", the same
100-row background) on ``pipeline[:-1].transform`` + summing back over one-hot columns.
Fast: ``Explainer.score_and_explain`` on the row as a dict (the serving path), and on a
1-row DataFrame. Both include building the per-feature contributions; the fast path also
builds the plain-language statements. Each row is different (``--rows`` rows in turn),
after a warm-up. A breakdown shows where the fast path's time goes, and a batch of
``--batch`` rows is timed both ways (median of 20 runs).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry.analysis.explain import Explainer, FeatureSpec  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "german_credit.csv"


def timed(fn: Callable[[Any], Any], items: list[Any]) -> np.ndarray:
    """Milliseconds per call of ``fn`` on each item, after one warm-up call."""
    fn(items[0])
    out = np.empty(len(items))
    for i, item in enumerate(items):
        start = time.perf_counter()
        fn(item)
        out[i] = (time.perf_counter() - start) * 1000.0
    return out


def line(label: str, ms: np.ndarray) -> str:
    p50, p95 = np.percentile(ms, [50, 95])
    return f"  {label:<44} p50 {p50:8.3f} ms   p95 {p95:8.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import shap
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.read_csv(DATA)
    y = (frame.pop("credit") == "good").astype(int)
    numeric = frame.select_dtypes("number").columns.tolist()
    categorical = [c for c in frame.columns if c not in numeric]
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    model = GradientBoostingClassifier(n_estimators=args.trees, random_state=0)
    pipeline = Pipeline([("pre", pre), ("model", model)]).fit(frame, y)
    features = [FeatureSpec(c, "number" if c in numeric else "category") for c in frame.columns]

    start = time.perf_counter()
    explainer = Explainer.build(pipeline, frame, features)
    build_s = time.perf_counter() - start

    # baseline: sklearn end to end, shap on the transformed row, summed back by name
    reference = shap.TreeExplainer(
        model,
        data=explainer.background_matrix,
        model_output="probability",
        feature_perturbation="interventional",
    )
    names = pipeline[:-1].get_feature_names_out()
    owner = [
        max((c for c in frame.columns if n.split("__", 1)[1].startswith(c)), key=len) for n in names
    ]
    index = {c: j for j, c in enumerate(frame.columns)}
    aggregate = np.zeros((len(names), len(frame.columns)))
    aggregate[np.arange(len(names)), [index[o] for o in owner]] = 1.0

    def baseline(rows: pd.DataFrame) -> list[dict[str, float]]:
        score = pipeline.predict_proba(rows)[:, 1]
        x = pipeline[:-1].transform(rows)
        x = x.toarray() if hasattr(x, "toarray") else x
        summed = reference.shap_values(x, check_additivity=False) @ aggregate
        return [
            {"score": s, **dict(zip(frame.columns, row, strict=True))}
            for s, row in zip(score, summed.tolist(), strict=True)
        ]

    rows = frame.iloc[: args.rows]
    one_row_frames = [rows.iloc[[i]] for i in range(len(rows))]
    dicts = rows.to_dict("records")

    base_ms = timed(baseline, one_row_frames)
    fast_ms = timed(explainer.score_and_explain, dicts)
    fast_df_ms = timed(explainer.score_and_explain, one_row_frames)

    transform = explainer._transform
    x_rows = [transform(d) for d in dicts]
    parts = {
        "sklearn ColumnTransformer.transform (1-row df)": timed(
            pipeline[:-1].transform, one_row_frames
        ),
        "sklearn pipeline.predict_proba (1-row df)": timed(pipeline.predict_proba, one_row_frames),
        "fast transform (dict)": timed(transform, dicts),
        "score from the transformed row": timed(lambda x: explainer._scores(x), x_rows),
        "shap values (interventional, probability)": timed(explainer._shap_values, x_rows),
    }

    log_odds = Explainer.build(pipeline, frame, features, boosted_scale="log-odds")
    log_odds_ms = timed(log_odds.score_and_explain, dicts)

    batch = frame.iloc[: args.batch]
    base_batch = timed(baseline, [batch] * 20)
    fast_batch = timed(explainer.score_and_explain, [batch] * 20)

    print(
        f"GradientBoostingClassifier({args.trees} trees), german_credit, "
        f"{len(rows)} rows one at a time"
    )
    print(
        f"  Explainer.build {build_s:.2f} s (fast path: {explainer.fastpath}; "
        f"method {explainer.method}, scale {explainer.scale})"
    )
    print(line("baseline: sklearn pipeline + shap + sum back", base_ms))
    print(line("Explainer.score_and_explain(dict)", fast_ms))
    print(line("Explainer.score_and_explain(1-row DataFrame)", fast_df_ms))
    ratio = np.median(base_ms) / np.median(fast_ms)
    ratio95 = np.percentile(base_ms, 95) / np.percentile(fast_ms, 95)
    print(f"  speed-up (dict): p50 x{ratio:.1f}, p95 x{ratio95:.1f}")
    print("breakdown")
    for label, ms in parts.items():
        print(line(label, ms))
    print(line("score_and_explain(dict), boosted_scale=log-odds", log_odds_ms))
    print(f"batch of {len(batch)} rows (median of 20)")
    print(
        f"  baseline {np.median(base_batch):8.2f} ms   fast {np.median(fast_batch):8.2f} ms   "
        f"x{np.median(base_batch) / np.median(fast_batch):.1f}"
    )


if __name__ == "__main__":
    main()
