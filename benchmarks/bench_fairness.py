"""Benchmark: run_audit against a plain pandas group-by computing the same figures.

    .venv/bin/python benchmarks/bench_fairness.py [--rows 1000000] [--repeats 3]
                                                 [--naive-rows 100000]

Data: synthetic rows with two sensitive features, ``sex`` (strings, 3 values) and ``age``
(whole years, banded into 5 bands), so three groupings (sex, age, sex × age) × six figures
(count, selection rate, TPR, FPR, precision, accuracy) plus between-group differences and
ratios. Both sides start from the same raw arrays and do their own banding.

Time: best of ``--repeats`` runs with ``time.perf_counter`` after a warm-up run (fairlearn's
~1 s import is excluded from both). Peak memory: ``tracemalloc`` peak of Python and numpy
allocations during one extra, untimed run of each (tracemalloc slows code down, so it is kept
out of the timings; it does not count the interpreter or already imported modules).

``--naive-rows`` also times fairlearn's MetricFrame fed the raw rows (no compression) with the
same fast numpy metric functions, to show where the time would go; 0 skips it.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry.analysis.fairness import FairnessRules, MetricLimit, run_audit  # noqa: E402

AGE_EDGES = (0, 25, 35, 50, 65, 200)
AGE_LABELS = ["0–24", "25–34", "35–49", "50–64", "65–199"]
RATES = ["selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy"]
MIN_GROUP = 30
THRESHOLD = 0.5
RULES = FairnessRules(
    limits=(
        MetricLimit("demographic_parity_ratio", min=0.8),
        MetricLimit("equalized_odds_difference", max=0.1),
    ),
    min_group_size=MIN_GROUP,
    bands={"age": AGE_EDGES},
    proxy_threshold=0.3,
)


def make_data(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Labels, scores and a sensitive frame with a mild built-in disparity."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(
        np.array(["female", "male", "other"], dtype=object), rows, p=[0.49, 0.49, 0.02]
    )
    age = rng.integers(18, 91, rows)
    y_true = (rng.random(rows) < 0.3 + 0.1 * (sex == "male")).astype(np.int8)
    y_score = np.clip(rng.normal(0.35 + 0.3 * y_true + 0.002 * (age - 50), 0.2), 0, 1)
    return y_true, y_score, pd.DataFrame({"sex": sex, "age": age})


def pandas_audit(
    y_true: np.ndarray, y_score: np.ndarray, sensitive: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The same figures with a plain pandas group-by: per-group table and disparities."""
    pred = (y_score >= THRESHOLD).astype(np.int8)
    frame = pd.DataFrame(
        {
            "sex": sensitive["sex"],
            "age": pd.cut(sensitive["age"], AGE_EDGES, right=False, labels=AGE_LABELS),
            "y": y_true,
            "p": pred,
            "tp": y_true & pred,
            "fp": (1 - y_true) & pred,
            "hit": (y_true == pred).astype(np.int8),
        }
    )
    out: dict[str, pd.DataFrame] = {}
    for keys in (["sex"], ["age"], ["sex", "age"]):
        t = frame.groupby(keys, observed=True)[["y", "p", "tp", "fp", "hit"]].sum()
        t["count"] = frame.groupby(keys, observed=True).size()
        with np.errstate(divide="ignore", invalid="ignore"):
            table = pd.DataFrame(
                {
                    "count": t["count"],
                    "selection_rate": t["p"] / t["count"],
                    "true_positive_rate": t["tp"] / t["y"],
                    "false_positive_rate": t["fp"] / (t["count"] - t["y"]),
                    "precision": t["tp"] / t["p"],
                    "accuracy": t["hit"] / t["count"],
                }
            )
        eligible = table[table["count"] >= MIN_GROUP][RATES]
        table.attrs["difference"] = eligible.max() - eligible.min()
        table.attrs["ratio"] = eligible.min() / eligible.max()
        out[" × ".join(keys)] = table
    return out


def best_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def peak_memory(fn: Callable[[], Any]) -> float:
    """tracemalloc peak in MiB over one call."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def check_agreement(audit: dict[str, Any], reference: dict[str, pd.DataFrame]) -> None:
    """Every figure of run_audit equals the pandas one (raises if not)."""
    for name, table in reference.items():
        grouping = audit["groupings"][name]
        assert len(grouping["groups"]) == len(table), name
        for group, (_, row) in zip(grouping["groups"], table.iterrows(), strict=True):
            assert group["count"] == row["count"]
            for metric in RATES:
                assert np.isclose(group[metric], row[metric], rtol=1e-12), (name, metric)
        for metric in RATES:
            d = grouping["disparities"][metric]
            assert np.isclose(d["difference"], table.attrs["difference"][metric], rtol=1e-12)
            assert np.isclose(d["ratio"], table.attrs["ratio"][metric], rtol=1e-12)


def naive_metricframe(y_true: np.ndarray, y_score: np.ndarray, sensitive: pd.DataFrame) -> None:
    """MetricFrame on the raw rows with fast (unweighted) numpy metric functions."""
    from fairlearn.metrics import MetricFrame

    pred = (y_score >= THRESHOLD).astype(np.int8)
    sf = pd.DataFrame(
        {"sex": sensitive["sex"], "age": pd.cut(sensitive["age"], AGE_EDGES, right=False).cat.codes}
    )

    def rate(num: Callable[..., np.ndarray], den: Callable[..., np.ndarray]) -> Callable:
        def metric(y: np.ndarray, p: np.ndarray) -> float:
            d = den(y, p).sum()
            return float(num(y, p).sum() / d) if d else float("nan")

        return metric

    metrics = {
        "count": lambda y, p: float(len(y)),
        "selection_rate": lambda y, p: float(p.mean()),
        "true_positive_rate": rate(lambda y, p: y & p, lambda y, p: y),
        "false_positive_rate": rate(lambda y, p: (1 - y) & p, lambda y, p: 1 - y),
        "precision": rate(lambda y, p: y & p, lambda y, p: p),
        "accuracy": lambda y, p: float((y == p).mean()),
    }
    for keys in (["sex"], ["age"], ["sex", "age"]):
        MetricFrame(metrics=metrics, y_true=y_true, y_pred=pred, sensitive_features=sf[keys])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    y_true, y_score, sensitive = make_data(args.rows, args.seed)

    def ours() -> dict[str, Any]:
        return run_audit(y_true, y_score, sensitive, threshold=THRESHOLD, rules=RULES)

    def theirs() -> dict[str, pd.DataFrame]:
        return pandas_audit(y_true, y_score, sensitive)

    small = make_data(1_000, args.seed + 1)
    run_audit(*small, threshold=THRESHOLD, rules=RULES)  # warm-up: imports fairlearn
    pandas_audit(*small)

    print(f"rows: {args.rows:,}; groupings: sex, age (5 bands), sex × age; 6 metrics each")
    audit_s, audit = best_time(ours, args.repeats)
    pandas_s, reference = best_time(theirs, args.repeats)
    check_agreement(audit, reference)
    print("figures agree: run_audit == pandas group-by (all groups, metrics, differences, ratios)")
    print(f"run_audit         {audit_s:8.3f} s   (best of {args.repeats})")
    print(f"pandas group-by   {pandas_s:8.3f} s   (best of {args.repeats})")
    ratio = audit_s / pandas_s
    print(
        f"ratio             {ratio:8.2f} x   (target <= 2x: {'met' if ratio <= 2 else 'NOT met'})"
    )
    print(f"peak memory run_audit       {peak_memory(ours):8.1f} MiB (tracemalloc)")
    print(f"peak memory pandas group-by {peak_memory(theirs):8.1f} MiB (tracemalloc)")

    if args.naive_rows:
        n = args.naive_rows
        ny, ns, nsens = y_true[:n], y_score[:n], sensitive.iloc[:n]
        naive_s, _ = best_time(lambda: naive_metricframe(ny, ns, nsens), 1)
        base_s, _ = best_time(lambda: pandas_audit(ny, ns, nsens), 3)
        print(
            f"for comparison, MetricFrame fed the raw rows (no compression), {n:,} rows: "
            f"{naive_s:.2f} s vs pandas {base_s:.3f} s ({naive_s / base_s:.0f}x); "
            f"~{naive_s * args.rows / n:.0f} s at {args.rows:,} rows (linear) — fairlearn "
            "rebuilds each column per metric call with np.stack, element by element"
        )


if __name__ == "__main__":
    main()
