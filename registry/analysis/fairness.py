"""Bias audit: per-group metrics, disparities, limits and a verdict (no Flask, no database).

The figures come from fairlearn's ``MetricFrame`` over rows collapsed to weighted cells
(:mod:`registry.analysis.fairness_cells`); columns become groups in
:mod:`registry.analysis.fairness_groups`; proxy detection is in
:mod:`registry.analysis.fairness_proxies` and the charts in
:mod:`registry.analysis.fairness_charts`.

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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from registry.analysis.fairness_cells import WEIGHT, Y_PRED, Y_TRUE, compress, metric_frame
from registry.analysis.fairness_groups import encode_column
from registry.analysis.fairness_proxies import find_proxies
from registry.analysis.fairness_rules import (
    BASE_METRICS,
    FairnessRules,
    MetricLimit,
    parse_metric,
)

if TYPE_CHECKING:  # pandas is imported where used: the web process starts fast
    import pandas as pd
    from numpy.typing import ArrayLike

TABLE_METRICS: tuple[str, ...] = ("count", *BASE_METRICS)
INTERSECTION_SEP = " × "
MERGED = 2**31 - 1  # the group code of the declared group small groups are merged into


# --- the audit --------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A JSON-safe float: NaN/inf/None become None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def _table_row(values: pd.Series) -> dict[str, Any]:
    row: dict[str, Any] = {"count": int(values["count"])}
    row.update({m: _num(values[m]) for m in BASE_METRICS})
    return row


def _disparities(
    mf: Any | None, by_group: pd.DataFrame, label_of: Callable[[Any], str]
) -> dict[str, dict[str, Any]]:
    """Differences and ratios per base metric from the eligible-groups MetricFrame ``mf``."""
    result: dict[str, dict[str, Any]] = {}
    for metric in BASE_METRICS:
        column = by_group[metric].dropna()
        entry: dict[str, Any] = {
            "difference": None,
            "ratio": None,
            "lowest": None,
            "highest": None,
            "groups_compared": len(column),
        }
        if mf is not None and len(column) >= 2:
            entry["difference"] = _num(mf.difference()[metric])
            entry["ratio"] = _num(mf.ratio()[metric])
            low, high = column.idxmin(), column.idxmax()
            entry["lowest"] = {"group": label_of(low), "value": _num(column[low])}
            entry["highest"] = {"group": label_of(high), "value": _num(column[high])}
        result[metric] = entry
    tpr, fpr = result["true_positive_rate"], result["false_positive_rate"]
    both = tpr["difference"] is not None and fpr["difference"] is not None
    result["equalized_odds"] = {
        "difference": max(tpr["difference"], fpr["difference"]) if both else None,
        "ratio": (
            min(tpr["ratio"], fpr["ratio"])
            if both and tpr["ratio"] is not None and fpr["ratio"] is not None
            else None
        ),
    }
    return result


def _evaluate_limit(
    limit: MetricLimit,
    grouping: str,
    disparities: dict[str, dict[str, Any]],
    undefined: dict[str, list[str]],
) -> tuple[dict[str, Any], str | None]:
    """Check one limit on one grouping; returns (result, reason or None)."""
    base, kind = parse_metric(limit.metric)
    value = disparities[base][kind]
    inputs = ["true_positive_rate", "false_positive_rate"] if base == "equalized_odds" else [base]
    gaps = [f"{m} is undefined for {', '.join(undefined[m])}" for m in inputs if undefined[m]]
    result: dict[str, Any] = {
        "metric": limit.metric,
        "value": value,
        "min": limit.min,
        "max": limit.max,
        "bound": limit.bound,
        "passed": None,
        "status": "insufficient_data",
    }
    if value is None:
        reason = (
            f"INSUFFICIENT DATA: {limit.metric} on {grouping} cannot be evaluated: fewer than "
            f"two groups with at least the minimum group size have a defined value"
        )
        return result, reason + (f" ({'; '.join(gaps)})" if gaps else "")
    low = limit.min is not None and value < limit.min
    high = limit.max is not None and value > limit.max
    if low or high:
        result.update(passed=False, status="fail")
        side = f"below the minimum {limit.min:g}" if low else f"above the maximum {limit.max:g}"
        source = base
        if base == "equalized_odds":  # name the rate that sets the value
            tpr_value = disparities["true_positive_rate"][kind]
            source = "true_positive_rate" if value == tpr_value else "false_positive_rate"
        lo, hi = disparities[source]["lowest"], disparities[source]["highest"]
        detail = (
            f" ({source}: lowest {lo['group']} {_fmt(lo['value'])}, "
            f"highest {hi['group']} {_fmt(hi['value'])})"
        )
        return result, f"FAIL: {limit.metric} on {grouping} is {value:.3f}, {side}{detail}"
    if gaps:
        reason = (
            f"INSUFFICIENT DATA: {limit.metric} on {grouping} is {value:.3f} ({limit.bound}) "
            f"but leaves out groups with enough rows: {'; '.join(gaps)}"
        )
        return result, reason
    result.update(passed=True, status="pass")
    return result, None


def _merge_small(
    rows: pd.DataFrame, features: list[str], label_of: Callable[[Any], str], rules: FairnessRules
) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Under the "merge" rule, the cells of two or more groups below the minimum size become one
    declared group, coded ``MERGED`` in every feature; returns the rows and that group."""
    if rules.small_groups != "merge":
        return rows, None
    sizes = rows.groupby(features, sort=True)[WEIGHT].sum()
    small = [key for key, n in sizes.items() if n < rules.min_group_size]
    if len(small) < 2:  # one small group merged with nothing is still itself
        return rows, None
    rows = rows.copy()
    rows.loc[rows.set_index(features).index.isin(small), features] = MERGED
    rows = rows.groupby([*features, Y_TRUE, Y_PRED], sort=False, as_index=False)[WEIGHT].sum()
    members = [label_of(key) for key in small]
    return rows, {"group": f"other (merged: {', '.join(members)})", "members": members,
                  "count": int(sizes[sizes < rules.min_group_size].sum())}


def _audit_grouping(
    name: str,
    kind: str,
    features: list[str],
    rows: pd.DataFrame,
    labels: dict[str, list[str]],
    rules: FairnessRules,
) -> dict[str, Any]:
    """Audit one grouping (one column or an intersection) from compressed rows."""
    merged: dict[str, Any] | None = None

    def codes_of(index: Any) -> tuple[int, ...]:
        return tuple(int(c) for c in (index if isinstance(index, tuple) else (index,)))

    def key_of(index: Any) -> dict[str, str]:
        codes = codes_of(index)
        if merged is not None and codes[0] == MERGED:
            return dict.fromkeys(features, "other")
        return {f: labels[f][c] for f, c in zip(features, codes, strict=True)}

    def label_of(index: Any) -> str:
        if merged is not None and codes_of(index)[0] == MERGED:
            return str(merged["group"])
        return INTERSECTION_SEP.join(key_of(index).values())

    rows = rows.groupby([*features, Y_TRUE, Y_PRED], sort=False, as_index=False)[WEIGHT].sum()
    rows, merged = _merge_small(rows, features, label_of, rules)
    mf = metric_frame(rows, features)
    by_group = mf.by_group
    by_group = by_group[by_group["count"].fillna(0) > 0]

    groups: list[dict[str, Any]] = []
    small: list[str] = []
    eligible_index = []
    for index, values in by_group.iterrows():
        sufficient = int(values["count"]) >= rules.min_group_size
        groups.append(
            {
                "group": label_of(index),
                "key": key_of(index),
                **_table_row(values),
                "sufficient": sufficient,
            }
        )
        if sufficient:
            eligible_index.append(index)
        else:
            small.append(label_of(index))

    eligible = by_group.loc[eligible_index]
    if small and len(eligible) >= 2:
        keep = rows.set_index(features).index.isin(eligible.index)
        eligible_mf = metric_frame(rows[keep], features)
    else:
        eligible_mf = mf if len(eligible) >= 2 else None
    disparities = _disparities(eligible_mf, eligible, label_of)
    undefined = {m: [label_of(i) for i in eligible.index[eligible[m].isna()]] for m in BASE_METRICS}

    reasons: list[str] = []
    if merged is not None:
        reasons.append(
            f"MERGED: groups {', '.join(merged['members'])} of {name} have fewer than "
            f"{rules.min_group_size} rows each; they are assessed together as "
            f"\"{merged['group']}\" ({merged['count']} rows)"
        )
    for group in groups:
        if not group["sufficient"]:
            reasons.append(
                f"INSUFFICIENT DATA: group {group['group']} of {name} has {group['count']} rows, "
                f"fewer than the minimum group size {rules.min_group_size}; it is not assessed "
                "and is excluded from the disparity figures"
            )
    limits = []
    for limit in rules.limits:
        result, reason = _evaluate_limit(limit, name, disparities, undefined)
        limits.append(result)
        if reason:
            reasons.append(reason)
    # The verdict on the groups assessed, and the verdict on the whole grouping: groups not
    # assessed never let a grouping pass silently, but an officer may waive them by name.
    if any(r["status"] == "fail" for r in limits):
        assessed = "fail"
    elif any(r["status"] != "pass" for r in limits) or len(eligible) < 2:
        assessed = "insufficient_data"
        if len(eligible) < 2 and not rules.limits:
            reasons.append(
                f"INSUFFICIENT DATA: {name} has fewer than two groups with at least "
                f"{rules.min_group_size} rows to compare"
            )
    else:
        assessed = "pass"
    verdict = "insufficient_data" if assessed == "pass" and small else assessed
    reasons.sort(key=lambda r: not r.startswith("FAIL"))
    return {
        "name": name,
        "kind": kind,
        "features": features,
        "overall": _table_row(mf.overall),
        "groups": groups,
        "insufficient_groups": small,
        "merged": merged,
        "disparities": disparities,
        "limits": limits,
        "assessed_verdict": assessed,
        "verdict": verdict,
        "reasons": reasons,
    }


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
        groupings[name] = _audit_grouping(name, kind, list(combo), joint, labels, rules)
    for column in extras.columns:
        rows = compress({column: codes[column]}, cards, y, y_pred)
        groupings[column] = _audit_grouping(column, "extra", [column], rows, labels, rules)

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
