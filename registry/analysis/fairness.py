"""Bias audit: per-group metrics, disparities, limits and a verdict (no Flask, no database).

Engine
    ``fairlearn.metrics.MetricFrame`` computes every per-group figure, the overall figures and the
    between-group differences (max - min) and ratios (min / max). fairlearn is imported inside the
    functions because it takes about a second to import.

Why the rows are compressed first
    MetricFrame slices the data with ``groupby().apply()`` and, inside every metric call, turns
    each column back into an array with ``np.stack(column.to_numpy())``, which walks the column
    element by element in Python. On 1,000,000 rows that alone costs ~4 s per metric per
    grouping, whatever the metric function does (measured: see benchmarks/bench_fairness.py).
    All six metrics are functions of the confusion-matrix counts of each group, so the rows are
    first collapsed, exactly, to one row per distinct (group codes, y_true, y_pred) with a
    ``weight`` = number of rows, and MetricFrame is given weighted numpy metric functions
    (``sample_params``). The figures are identical; MetricFrame then sees at most
    4 x (number of groups) rows.

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

Groupings audited: every sensitive column, every intersection of 2 or more sensitive columns
(only combinations that occur in the data are groups), and every ``extra_groupings`` column on
its own. Missing values form their own group, "(missing)".

Verdict precedence, per grouping and overall:
    1. "fail" if any limit is breached on any grouping (a breach among the groups that do have
       enough data is a real breach, whatever else is missing);
    2. otherwise "insufficient_data" if any group is below ``min_group_size`` or any limit cannot be
       evaluated (fewer than two comparable groups, or the metric is undefined for a group with
       enough rows, e.g. no actual positives for a true positive rate);
    3. otherwise "pass".
``reasons`` lists every breach and every data shortfall, not only those that set the verdict.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from registry.analysis.fairness_charts import metric_chart_svg

if TYPE_CHECKING:  # pandas and fairlearn are imported where used: the web process starts fast
    import pandas as pd
    from numpy.typing import ArrayLike

__all__ = [
    "BASE_METRICS",
    "TABLE_METRICS",
    "FairnessRules",
    "MetricLimit",
    "find_proxies",
    "metric_chart_svg",
    "run_audit",
]

BASE_METRICS: tuple[str, ...] = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "precision",
    "accuracy",
)
TABLE_METRICS: tuple[str, ...] = ("count", *BASE_METRICS)
_ALIASES = {"demographic_parity": "selection_rate", "equalized_odds": "equalized_odds"}
_KINDS = ("difference", "ratio")
MISSING_LABEL = "(missing)"
INTERSECTION_SEP = " × "

_Y, _P, _W = "__y_true__", "__y_pred__", "__weight__"
_MAX_KEY_SPACE = 1 << 40


def _parse_metric(name: str) -> tuple[str, str]:
    """Split ``<base>_<difference|ratio>`` into (base, kind), resolving fairlearn's aliases."""
    for kind in _KINDS:
        suffix = "_" + kind
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            base = _ALIASES.get(base, base)
            if base in BASE_METRICS or base == "equalized_odds":
                return base, kind
    allowed = [*BASE_METRICS, *_ALIASES]
    raise ValueError(
        f"unknown fairness metric {name!r}: expected <base>_difference or <base>_ratio "
        f"with base one of {allowed}"
    )


@dataclass(frozen=True)
class MetricLimit:
    """An acceptable range for one disparity metric, e.g. demographic_parity_ratio >= 0.8."""

    metric: str
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        _parse_metric(self.metric)
        if self.min is None and self.max is None:
            raise ValueError(f"limit on {self.metric} needs a min, a max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"limit on {self.metric}: min {self.min} > max {self.max}")

    @property
    def bound(self) -> str:
        """The bound in words, e.g. "at least 0.8"."""
        if self.min is not None and self.max is not None:
            return f"between {self.min:g} and {self.max:g}"
        if self.min is not None:
            return f"at least {self.min:g}"
        return f"at most {self.max:g}"


@dataclass(frozen=True)
class FairnessRules:
    """The policy an audit is judged against."""

    limits: tuple[MetricLimit, ...]
    min_group_size: int
    bands: dict[str, tuple[float, ...]]
    proxy_threshold: float

    def __post_init__(self) -> None:
        if self.min_group_size < 1:
            raise ValueError("min_group_size must be at least 1")
        if not 0.0 <= self.proxy_threshold <= 1.0:
            raise ValueError("proxy_threshold must be between 0 and 1")
        for column, edges in self.bands.items():
            _check_edges(column, edges)


def _check_edges(column: str, edges: Sequence[float]) -> None:
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"bands for {column!r} must be at least two strictly increasing edges")


# --- encoding columns as integer group codes ------------------------------------------------


def _band_labels(edges: Sequence[float], integral: bool) -> list[str]:
    """Labels for left-closed, right-open bands: "25–34" for whole-number data, else "25 to <35"."""
    labels = []
    for lo, hi in itertools.pairwise(edges):
        if integral and float(lo).is_integer() and float(hi).is_integer():
            labels.append(f"{int(lo)}–{int(hi) - 1}")
        else:
            labels.append(f"{lo:g} to <{hi:g}")
    return labels


def _encode(
    name: str, values: pd.Series, bands: dict[str, tuple[float, ...]], *, quintiles: bool = False
) -> tuple[np.ndarray, list[str]]:
    """Map a column to (codes 0..k-1, labels[k]).

    Numeric columns are banded with ``bands[name]`` (left-closed, right-open; a value outside
    the edges is an error), or into quintiles if ``quintiles`` is set, else rejected. Other
    columns are grouped by their string value, sorted. Missing values get the label "(missing)".
    """
    import pandas as pd

    is_numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if name in bands or (is_numeric and quintiles):
        if not is_numeric:
            raise ValueError(f"column {name!r} has bands but is not numeric")
        x = values.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(x)
        if name in bands:
            edges = np.asarray(bands[name], dtype=float)
            idx = np.searchsorted(edges, x, side="right") - 1
            outside = ~missing & ((idx < 0) | (idx >= len(edges) - 1))
            if outside.any():
                raise ValueError(
                    f"column {name!r}: {int(outside.sum())} value(s) outside the bands "
                    f"[{edges[0]:g}, {edges[-1]:g})"
                )
            integral = bool(np.all(np.mod(x[~missing], 1) == 0))
            labels = _band_labels(bands[name], integral)
        else:
            present = x[~missing]
            cuts = np.unique(np.quantile(present, [0.2, 0.4, 0.6, 0.8])) if present.size else []
            idx = np.searchsorted(cuts, x, side="right")
            labels = _band_labels([-np.inf, *cuts, np.inf], integral=False)
        codes = np.where(missing, len(labels), idx).astype(np.int64)
        if missing.any():
            labels.append(MISSING_LABEL)
        return codes, labels
    if is_numeric:
        raise ValueError(
            f"column {name!r} is numeric but has no band rule: add bands for it in the fairness "
            "rules, or pass it as strings if its values are category codes"
        )
    raw_codes, uniques = pd.factorize(values, use_na_sentinel=True)
    raw_labels = [str(u) for u in uniques]
    if (raw_codes < 0).any():
        raw_labels.append(MISSING_LABEL)
        raw_codes = np.where(raw_codes < 0, len(raw_labels) - 1, raw_codes)
    labels = sorted(set(raw_labels) - {MISSING_LABEL})
    if MISSING_LABEL in raw_labels:
        labels.append(MISSING_LABEL)
    position = {label: i for i, label in enumerate(labels)}
    remap = np.array([position[label] for label in raw_labels], dtype=np.int64)
    return remap[raw_codes], labels


def _compress(
    codes: dict[str, np.ndarray], cards: dict[str, int], y_true: np.ndarray, y_pred: np.ndarray
) -> pd.DataFrame:
    """Collapse rows to one per distinct (codes..., y_true, y_pred), with weight = row count.

    Mixed-radix key + ``np.bincount``; the key is re-densified with ``pd.factorize`` if its range
    would grow too large. Any row with a given key serves as that key's representative.
    """
    import pandas as pd

    n = len(y_true)
    key = np.zeros(n, dtype=np.int64)
    space = 1
    for name, col in codes.items():
        if space * cards[name] * 4 > _MAX_KEY_SPACE:
            key, uniques = pd.factorize(key)
            space = len(uniques)
        key = key * cards[name] + col
        space *= cards[name]
    key = key * 4 + y_true.astype(np.int64) * 2 + y_pred
    space *= 4
    if space > max(4 * n, 1 << 16):
        key, uniques = pd.factorize(key)
        space = len(uniques)
    counts = np.bincount(key, minlength=space)
    representative = np.empty(space, dtype=np.int64)
    representative[key] = np.arange(n)
    present = np.flatnonzero(counts)
    rows = representative[present]
    frame = {name: col[rows] for name, col in codes.items()}
    frame.update({_Y: y_true[rows], _P: y_pred[rows], _W: counts[present].astype(float)})
    return pd.DataFrame(frame)


# --- weighted metric functions for MetricFrame ----------------------------------------------


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator > 0 else math.nan


def _count(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
    return float(sample_weight.sum())


def _selection_rate(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
    return _ratio(sample_weight @ y_pred, sample_weight.sum())


def _true_positive_rate(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
    return _ratio(sample_weight @ (y_true & y_pred), sample_weight @ y_true)


def _false_positive_rate(
    y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray
) -> float:
    return _ratio(sample_weight @ ((1 - y_true) & y_pred), sample_weight @ (1 - y_true))


def _precision(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
    return _ratio(sample_weight @ (y_true & y_pred), sample_weight @ y_pred)


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
    return _ratio(sample_weight @ (y_true == y_pred), sample_weight.sum())


_METRIC_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "count": _count,
    "selection_rate": _selection_rate,
    "true_positive_rate": _true_positive_rate,
    "false_positive_rate": _false_positive_rate,
    "precision": _precision,
    "accuracy": _accuracy,
}


def _metric_frame(rows: pd.DataFrame, features: list[str]) -> Any:
    """fairlearn MetricFrame over compressed rows (weights passed as ``sample_weight``)."""
    from fairlearn.metrics import MetricFrame

    weight = rows[_W].to_numpy()
    return MetricFrame(
        metrics=_METRIC_FUNCTIONS,
        y_true=rows[_Y].to_numpy(),
        y_pred=rows[_P].to_numpy(),
        sensitive_features=rows[features],
        sample_params={name: {"sample_weight": weight} for name in _METRIC_FUNCTIONS},
    )


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
    base, kind = _parse_metric(limit.metric)
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


def _audit_grouping(
    name: str,
    kind: str,
    features: list[str],
    rows: pd.DataFrame,
    labels: dict[str, list[str]],
    rules: FairnessRules,
) -> dict[str, Any]:
    """Audit one grouping (one column or an intersection) from compressed rows."""
    rows = rows.groupby([*features, _Y, _P], sort=False, as_index=False)[_W].sum()
    mf = _metric_frame(rows, features)
    by_group = mf.by_group
    by_group = by_group[by_group["count"].fillna(0) > 0]

    def key_of(index: Any) -> dict[str, str]:
        codes = index if isinstance(index, tuple) else (index,)
        return {f: labels[f][int(c)] for f, c in zip(features, codes, strict=True)}

    def label_of(index: Any) -> str:
        return INTERSECTION_SEP.join(key_of(index).values())

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
        eligible_mf = _metric_frame(rows[keep], features)
    else:
        eligible_mf = mf if len(eligible) >= 2 else None
    disparities = _disparities(eligible_mf, eligible, label_of)
    undefined = {m: [label_of(i) for i in eligible.index[eligible[m].isna()]] for m in BASE_METRICS}

    reasons: list[str] = []
    for group in groups:
        if not group["sufficient"]:
            reasons.append(
                f"INSUFFICIENT DATA: group {group['group']} of {name} has {group['count']} rows, "
                f"fewer than the minimum group size {rules.min_group_size}; it is excluded from "
                "the disparity figures"
            )
    limits = []
    for limit in rules.limits:
        result, reason = _evaluate_limit(limit, name, disparities, undefined)
        limits.append(result)
        if reason:
            reasons.append(reason)
    if any(r["status"] == "fail" for r in limits):
        verdict = "fail"
    elif small or any(r["status"] != "pass" for r in limits) or len(eligible) < 2:
        verdict = "insufficient_data"
        if len(eligible) < 2 and not rules.limits:
            reasons.append(
                f"INSUFFICIENT DATA: {name} has fewer than two groups with at least "
                f"{rules.min_group_size} rows to compare"
            )
    else:
        verdict = "pass"
    reasons.sort(key=lambda r: not r.startswith("FAIL"))
    return {
        "name": name,
        "kind": kind,
        "features": features,
        "overall": _table_row(mf.overall),
        "groups": groups,
        "insufficient_groups": small,
        "disparities": disparities,
        "limits": limits,
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
) -> dict[str, Any]:
    """Audit predictions (``y_score >= threshold``) for disparities between groups.

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
        codes[column], labels[column] = _encode(column, source[column], rules.bands)
    cards = {c: len(labels[c]) for c in codes}

    sensitive_cols = list(sensitive.columns)
    joint = _compress({c: codes[c] for c in sensitive_cols}, cards, y, y_pred)
    groupings: dict[str, dict[str, Any]] = {}
    for size in range(1, len(sensitive_cols) + 1):
        for combo in itertools.combinations(sensitive_cols, size):
            name = INTERSECTION_SEP.join(combo)
            kind = "sensitive" if size == 1 else "intersection"
            groupings[name] = _audit_grouping(name, kind, list(combo), joint, labels, rules)
    for column in extras.columns:
        rows = _compress({column: codes[column]}, cards, y, y_pred)
        groupings[column] = _audit_grouping(column, "extra", [column], rows, labels, rules)

    verdicts = {g["verdict"] for g in groupings.values()}
    verdict = next(v for v in ("fail", "insufficient_data", "pass") if v in verdicts)
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
        "reasons": reasons,
        "threshold": float(threshold),
        "n_rows": n,
        "min_group_size": rules.min_group_size,
        "limits": [{"metric": lim.metric, "min": lim.min, "max": lim.max} for lim in rules.limits],
        "overall": first["overall"],
        "groupings": groupings,
        "proxies": proxies,
    }


# --- proxies --------------------------------------------------------------------------------


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013) between two integer-coded columns.

    chi2 from the r x k contingency table, phi2 = chi2 / n,
    phi2c = max(0, phi2 - (k-1)(r-1)/(n-1)), rc = r - (r-1)^2/(n-1), kc = k - (k-1)^2/(n-1),
    V = sqrt(phi2c / min(kc-1, rc-1)). 0 when either column has a single value. Unlike the
    plain V, it is close to 0 for independent columns with many categories.
    """
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    r, k, n = int(a.max()) + 1, int(b.max()) + 1, len(a)
    if r < 2 or k < 2 or n < 2:
        return 0.0
    observed = np.bincount(a * k + b, minlength=r * k).reshape(r, k).astype(float)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    phi2c = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    rc = r - (r - 1) ** 2 / (n - 1)
    kc = k - (k - 1) ** 2 / (n - 1)
    denominator = min(kc - 1, rc - 1)
    return math.sqrt(phi2c / denominator) if denominator > 0 else 0.0


def find_proxies(
    data: pd.DataFrame,
    protected: list[str],
    candidates: list[str],
    *,
    threshold: float,
    bands: dict[str, tuple[float, ...]],
) -> list[dict[str, Any]]:
    """Candidate columns associated with a protected attribute (bias-corrected Cramér's V).

    Numeric columns are binned by ``bands`` if given, else into quintiles; missing values are a
    category of their own. Returns ``{"column", "protected_attribute", "cramers_v"}`` for every
    pair with V >= ``threshold``, strongest first.
    """
    data = data.reset_index(drop=True)
    encoded: dict[str, np.ndarray] = {}

    def codes_of(column: str) -> np.ndarray:
        if column not in encoded:
            encoded[column] = _encode(column, data[column], bands, quintiles=True)[0]
        return encoded[column]

    found = []
    for column in candidates:
        for attribute in protected:
            if column == attribute:
                continue
            v = cramers_v(codes_of(column), codes_of(attribute))
            if v >= threshold:
                found.append({"column": column, "protected_attribute": attribute, "cramers_v": v})
    found.sort(key=lambda p: (-p["cramers_v"], p["column"], p["protected_attribute"]))
    return found
