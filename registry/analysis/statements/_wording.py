"""The plain-language side of an explanation: one statement per feature and the notices.

Wording only; the contributions it describes come from :mod:`registry.analysis.explain`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from ...platform.words import sentence
from ._features import FeatureSpec

NOTICE = (
    "This explanation describes how the model weighed these inputs to reach its score, "
    "starting from its base value on reference data. It describes the model, not causes: "
    "it does not show that any input caused the outcome, or what would change it. "
    "The score is a decision aid; the decision rests with the person making it."
)
LOG_ODDS_NOTICE = (
    " For analysts: the contributions field is on the model's log-odds scale (with the base "
    "value it adds up to log(score / (1 - score))); the statements give each input's share "
    "of the change in the score itself, in points out of 100."
)


_FALSE = {"false", "no", "0", "n", "f"}
_TRUE = {"true", "yes", "1", "y", "t"}


def format_value(value: Any, type_: str | None = None) -> str:
    """An input value as a caseworker would write it (``type_`` from the schema)."""
    if value is None:
        return "not recorded"
    if isinstance(value, bool) or (type_ == "boolean" and value in (0, 1)):
        return "yes" if value else "no"
    if type_ == "boolean" and str(value).strip().casefold() in _FALSE | _TRUE:
        return "no" if str(value).strip().casefold() in _FALSE else "yes"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"
    return str(value)


def notice_for(scale: str) -> str:
    return NOTICE + (LOG_ODDS_NOTICE if scale == "log-odds" else "")


def points(change: float) -> int:
    """A change in the score (0 to 1) in points out of 100, rounded half away from zero, as the
    change is written (0.145 is 15 points, though the float 0.145 * 100 is 14.4999…).

    Float arithmetic gives that answer except within a hair of a half point, where the decimal
    reading decides; it is ~8x cheaper than reading every change as a decimal, and a batch
    words tens of thousands of changes."""
    scaled = abs(change) * 100.0
    whole = math.floor(scaled) if scaled < _EXACT_BEYOND else None
    if whole is None or abs(scaled - whole - 0.5) < _NEAR_HALF:
        return _decimal_points(change)
    return int(whole + (scaled - whole > 0.5)) * (1 if change > 0 else -1)


# The float product is within ~1e-13 of the written change times 100 below this size, so a
# margin of 1e-9 around each half point leaves every rounding that could differ to the decimal.
_EXACT_BEYOND = 1e6
_NEAR_HALF = 1e-9


def _decimal_points(change: float) -> int:
    return int(Decimal(repr(change)).scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def probability_changes(contributions: Sequence[float], scale: str, score: float,
                        base_value: float, explained_value: float) -> list[float]:
    """Each contribution as a change in the score itself. On the log-odds scale the score's
    change from the base (``score - expit(base_value)``) is shared out in proportion to the
    contributions, so the statements add up to it; with no change to share, each is
    weighted by the slope of the score (``score * (1 - score)``)."""
    if scale != "log-odds":
        return list(contributions)
    moved = explained_value - base_value
    if abs(moved) > 1e-12:
        factor = (score - 1.0 / (1.0 + math.exp(-base_value))) / moved
    else:
        factor = score * (1.0 - score)
    return [c * factor for c in contributions]


# What a receipt says of a value once its inputs are erased (the weight stays).
ERASED = "erased after the retention period"


def statement(spec: FeatureSpec, value: Any, change: float, erased: bool = False) -> str:
    """E.g. "Council tax band B raised the score by 4 points" (``change``: in the score, 0 to 1;
    a missing value is said once, "not recorded"; a false value is "no"; an ``erased`` one is
    said to be)."""
    return _worded(spec.name, spec.type, value, type(value), points(change), erased)


@lru_cache(maxsize=65536)
def _worded(name: str, type_: str, value: Any, _kind: type, amount: int, erased: bool) -> str:
    """Cached: a batch says the same things many times over (``_kind`` keeps 1, 1.0 and True
    apart, which are equal as keys but not written alike)."""
    label = sentence(name)
    if erased:
        subject = f"{label} ({ERASED})"
    elif value is None:
        subject = f"{label} not recorded"
    else:
        subject = f"{label} {format_value(value, type_)}"
    if amount == 0:
        return f"{subject} made little difference to the score"
    verb = "raised" if amount > 0 else "lowered"
    return f"{subject} {verb} the score by {abs(amount)} point{'s' if abs(amount) != 1 else ''}"


def contribution_items(features: Sequence[FeatureSpec], values: Sequence[Any],
                       contributions: Sequence[float], scale: str, score: float, base: float,
                       explained: float, erased: bool = False) -> list[dict[str, Any]]:
    """One row's contributions as a caseworker reads them, largest first: each feature (in
    schema order) with its value, exact contribution and statement (in points of the score).
    The same function serves a score and a receipt read back, so both say exactly the same
    (``erased``: a receipt whose inputs are gone, its values None and said erased)."""
    changes = probability_changes(contributions, scale, score, base, explained)
    items = [
        {"feature": spec.name, "value": value, "contribution": contribution,
         "statement": statement(spec, value, change, erased)}
        for spec, value, contribution, change in zip(features, values, contributions, changes,
                                                     strict=True)
    ]
    items.sort(key=lambda item: -abs(item["contribution"]))
    return items


def explanation(features: Sequence[FeatureSpec], values: Sequence[Any],
                contributions: Sequence[float], scale: str, base: float, score: float,
                explained: float, erased: bool = False) -> dict[str, Any]:
    """One row's explanation as a score answers it (the fields of ``Explanation.to_dict``)."""
    return {"score": score, "base_value": base,
            "contributions": contribution_items(features, values, contributions, scale, score,
                                                base, explained, erased),
            "scale": scale, "notice": notice_for(scale), "explained_value": explained}
