"""One grouping of a bias audit (a column or an intersection): its per-group table, disparities,
limit results, verdict and reasons, from rows compressed to weighted cells.

The formulas and the verdict precedence are in :mod:`registry.analysis.fairness._audit`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._cells import WEIGHT, Y_PRED, Y_TRUE, metric_frame
from ._rules import BASE_METRICS, FairnessRules, MetricLimit, parse_metric

if TYPE_CHECKING:  # pandas is imported where used: the web process starts fast
    import pandas as pd


INTERSECTION_SEP = " × "
MERGED = 2**31 - 1  # the group code of the declared group small groups are merged into


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


def audit_grouping(
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
