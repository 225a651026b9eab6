"""Bias audit: per-group metrics, disparities, limits and a verdict (no Flask, no database).

The figures come from fairlearn's ``MetricFrame`` over rows collapsed to weighted cells
(:mod:`registry.analysis.fairness._cells`); columns become groups in
:mod:`registry.analysis.fairness._groups` and each grouping is judged in
:mod:`registry.analysis.fairness._grouping`; proxy detection is in
:mod:`registry.analysis.fairness._proxies` and the charts in
:mod:`registry.analysis.fairness._charts`.

Metrics (w = row weight, y = true label, p = prediction = score >= threshold), per group:
    count = sum(w);  selection_rate = sum(w p) / sum(w);
    true_positive_rate = sum(w y p) / sum(w y);
    false_positive_rate = sum(w (1-y) p) / sum(w (1-y));
    precision = sum(w y p) / sum(w p);  accuracy = sum(w [y = p]) / sum(w).
    A zero denominator gives ``None`` (undefined), never NaN.

Disparities, over the groups with at least ``min_group_size`` rows and a defined value:
    <metric>_difference = max - min;  <metric>_ratio = min / max (None if max = 0).
    demographic_parity_* = selection_rate_*;
    equalized_odds_difference = max(TPR difference, FPR difference);
    equalized_odds_ratio = min(TPR ratio, FPR ratio)  (fairlearn's "worst_case" definitions).

Groupings audited: every sensitive column, the intersections asked for (by default every
combination of 2 or more sensitive columns; only combinations that occur in the data are groups),
and every ``extra_groupings`` column on its own. Missing values form their own group, "(missing)".

Small groups (below ``min_group_size``): under the rules' "merge", two or more in a grouping are
merged into one declared group, "other (merged: a, b)", which is assessed if it is large enough;
under "insufficient_data" they are left out. Groups still too small are *not assessed*: they are
listed in ``not_assessed`` as "<grouping>=<group>" so that an officer can waive each by name.

Verdict precedence, per grouping and overall:
    1. "fail" if any limit is breached on any grouping (a breach among the groups that do have
       enough data is a real breach, whatever else is missing);
    2. otherwise "insufficient_data" if any group is below ``min_group_size`` or any limit cannot be
       evaluated (fewer than two comparable groups, or the metric is undefined for a group with
       enough rows, e.g. no actual positives for a true positive rate);
    3. otherwise "pass".
``assessed_verdict`` is the same over the groups assessed only: "pass" there with groups not
assessed is "insufficient_data" overall, which an officer's waiver of those groups may accept.
``reasons`` lists every breach and every data shortfall, not only those that set the verdict.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ._cells import compress
from ._grouping import INTERSECTION_SEP, audit_grouping
from ._groups import encode_column
from ._proxies import find_proxies
from ._rules import FairnessRules

if TYPE_CHECKING:  # pandas is imported where used: the web process starts fast
    import pandas as pd
    from numpy.typing import ArrayLike


def _as_binary(y_true: ArrayLike, n: int | None = None) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1 or (n is not None and len(y) != n):
        raise ValueError("y_true must be one-dimensional and as long as y_score")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must contain only 0 and 1 (map the positive label to 1)")
    return y.astype(np.int8)


def _prepare_frame(frame: pd.DataFrame, n: int, what: str) -> pd.DataFrame:
    if len(frame) != n:
        raise ValueError(f"{what} has {len(frame)} rows but y_score has {n}")
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def run_audit(
    y_true: ArrayLike,
    y_score: ArrayLike,
    sensitive: pd.DataFrame,
    *,
    threshold: float,
    rules: FairnessRules,
    extra_groupings: pd.DataFrame | None = None,
    intersections: list[tuple[str, ...]] | None = None,
) -> dict[str, Any]:
    """Audit predictions (``y_score >= threshold``) for disparities between groups.

    ``intersections`` names the intersections of sensitive columns to assess (the policy's);
    ``None`` assesses every combination of two or more.

    Returns a JSON-serialisable dict (no NaN): ``verdict``, ``reasons``, ``overall`` and, under
    ``groupings`` keyed by name ("sex", "sex × age", "district"...), each grouping's per-group
    table, disparities, limit results, verdict and reasons. See the module docstring for the
    maths and the verdict precedence.
    """
    import pandas as pd

    score = np.asarray(y_score, dtype=float)
    if score.ndim != 1 or not np.isfinite(score).all():
        raise ValueError("y_score must be a one-dimensional array of finite numbers")
    if not math.isfinite(threshold):
        raise ValueError("threshold must be a finite number")
    n = len(score)
    if n == 0:
        raise ValueError("there are no rows to audit")
    y = _as_binary(y_true, n)
    y_pred = (score >= threshold).astype(np.int8)
    sensitive = _prepare_frame(sensitive, n, "sensitive")
    if sensitive.shape[1] == 0:
        raise ValueError("at least one sensitive column is needed")
    extras = (
        _prepare_frame(extra_groupings, n, "extra_groupings")
        if extra_groupings is not None
        else pd.DataFrame(index=range(n))
    )
    clash = set(sensitive.columns) & set(extras.columns)
    if clash:
        raise ValueError(f"columns both sensitive and extra groupings: {sorted(clash)}")

    labels: dict[str, list[str]] = {}
    codes: dict[str, np.ndarray] = {}
    for column in [*sensitive.columns, *extras.columns]:
        source = sensitive if column in sensitive.columns else extras
        codes[column], labels[column] = encode_column(column, source[column], rules.bands)
    cards = {c: len(labels[c]) for c in codes}

    sensitive_cols = list(sensitive.columns)
    joint = compress({c: codes[c] for c in sensitive_cols}, cards, y, y_pred)
    if intersections is None:
        intersections = [combo for size in range(2, len(sensitive_cols) + 1)
                         for combo in itertools.combinations(sensitive_cols, size)]
    unknown = sorted({c for combo in intersections for c in combo} - set(sensitive_cols))
    if unknown:
        raise ValueError(f"intersections name columns that are not sensitive: {unknown}")
    groupings: dict[str, dict[str, Any]] = {}
    for combo in [(c,) for c in sensitive_cols] + [tuple(c) for c in intersections]:
        name = INTERSECTION_SEP.join(combo)
        kind = "sensitive" if len(combo) == 1 else "intersection"
        groupings[name] = audit_grouping(name, kind, list(combo), joint, labels, rules)
    for column in extras.columns:
        rows = compress({column: codes[column]}, cards, y, y_pred)
        groupings[column] = audit_grouping(column, "extra", [column], rows, labels, rules)

    verdict, assessed = (
        next(v for v in ("fail", "insufficient_data", "pass")
             if v in {g[key] for g in groupings.values()})
        for key in ("verdict", "assessed_verdict")
    )
    reasons = [r for g in groupings.values() for r in g["reasons"]]
    reasons.sort(key=lambda r: not r.startswith("FAIL"))
    proxies = (
        find_proxies(
            pd.concat([sensitive, extras], axis=1),
            sensitive_cols,
            list(extras.columns),
            threshold=rules.proxy_threshold,
            bands=rules.bands,
        )
        if len(extras.columns)
        else []
    )
    first = next(iter(groupings.values()))
    return {
        "verdict": verdict,
        "assessed_verdict": assessed,
        "reasons": reasons,
        "threshold": float(threshold),
        "n_rows": n,
        "min_group_size": rules.min_group_size,
        "small_groups": rules.small_groups,
        "not_assessed": [f"{name}={group}" for name, g in groupings.items()
                         for group in g["insufficient_groups"]],
        "merged": [{"grouping": name, **g["merged"]} for name, g in groupings.items()
                   if g["merged"]],
        "limits": [{"metric": lim.metric, "min": lim.min, "max": lim.max} for lim in rules.limits],
        "overall": first["overall"],
        "groupings": groupings,
        "proxies": proxies,
    }
