"""The plain-language side of an explanation: one statement per feature and the notices.

Wording only; the contributions it describes come from :mod:`registry.analysis.explain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from ._features import FeatureSpec

# below these a contribution "made little difference" (0.005 in probability is about
# 0.02 in log-odds at a score of 0.5)
_LITTLE = {"probability": 0.005, "log-odds": 0.02}

NOTICE = (
    "This explanation describes how the model weighed these inputs to reach its score, "
    "starting from its base value on reference data. It describes the model, not causes: "
    "it does not show that any input caused the outcome, or what would change it. "
    "The score is a decision aid; the decision rests with the person making it."
)
LOG_ODDS_NOTICE = (
    " Contributions are on the log-odds scale: together with the base value they add up "
    "to the log-odds of the score, log(score / (1 - score)), not to the score itself. "
    "A positive contribution raises the score and a negative one lowers it; the same "
    "amount moves the score less when it is near 0 or 1."
)


def format_value(value: Any, type_: str | None = None) -> str:
    """An input value as a caseworker would write it (``type_`` from the schema)."""
    if value is None:
        return "missing"
    if isinstance(value, bool) or (type_ == "boolean" and value in (0, 1)):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"
    return str(value)


def notice_for(scale: str) -> str:
    return NOTICE + (LOG_ODDS_NOTICE if scale == "log-odds" else "")


@lru_cache(maxsize=16384)
def _subject(name: str, description: str | None, type_: str, value: Any, _kind: type) -> str:
    """"Label (value)": cached, as a batch repeats the same values (``_kind`` keeps 1, 1.0 and
    True apart, which are equal as keys but not written alike)."""
    label = (description or name).strip().rstrip(".")
    return f"{label} ({format_value(value, type_)})"


def statement(spec: FeatureSpec, value: Any, contribution: float, scale: str) -> str:
    """E.g. "Number of previous referrals (3) raised the score by 0.12"."""
    subject = _subject(spec.name, spec.description, spec.type, value, type(value))
    if abs(contribution) < _LITTLE[scale]:
        return f"{subject} made little difference"
    verb = "raised" if contribution > 0 else "lowered"
    unit = " in log-odds" if scale == "log-odds" else ""
    return f"{subject} {verb} the score by {abs(contribution):.2f}{unit}"


def contribution_items(features: Sequence[FeatureSpec], values: Sequence[Any],
                       contributions: Sequence[float], scale: str) -> list[dict[str, Any]]:
    """One row's contributions as a caseworker reads them, largest first: each feature (in
    schema order) with its value, contribution and statement. The same function serves a score
    and a receipt read back, so both say exactly the same."""
    items = [
        {"feature": spec.name, "value": value, "contribution": contribution,
         "statement": statement(spec, value, contribution, scale)}
        for spec, value, contribution in zip(features, values, contributions, strict=True)
    ]
    items.sort(key=lambda item: -abs(item["contribution"]))
    return items


def explanation(features: Sequence[FeatureSpec], values: Sequence[Any],
                contributions: Sequence[float], scale: str, base: float, score: float,
                explained: float) -> dict[str, Any]:
    """One row's explanation as a score answers it (the fields of ``Explanation.to_dict``)."""
    return {"score": score, "base_value": base,
            "contributions": contribution_items(features, values, contributions, scale),
            "scale": scale, "notice": notice_for(scale), "explained_value": explained}
