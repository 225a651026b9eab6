"""The policy a bias audit is judged against: limits on disparity metrics, the minimum group
size and what becomes of smaller groups, the bands numeric columns are grouped by, and the proxy
threshold.

A limit names ``<base>_<difference|ratio>``, base one of :data:`BASE_METRICS`,
``demographic_parity`` (the selection rate) or ``equalized_odds`` (fairlearn's names).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

BASE_METRICS: tuple[str, ...] = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "precision",
    "accuracy",
)
_ALIASES = {"demographic_parity": "selection_rate", "equalized_odds": "equalized_odds"}
_KINDS = ("difference", "ratio")
SMALL_GROUP_RULES = ("merge", "insufficient_data")


def parse_metric(name: str) -> tuple[str, str]:
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
        parse_metric(self.metric)
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
    # Groups under min_group_size: "merge" them into one declared group, or leave them out
    # ("insufficient_data"); either way those still too small are named as not assessed.
    small_groups: str = "insufficient_data"

    def __post_init__(self) -> None:
        if self.small_groups not in SMALL_GROUP_RULES:
            raise ValueError(f"small_groups must be one of {SMALL_GROUP_RULES}")
        if self.min_group_size < 1:
            raise ValueError("min_group_size must be at least 1")
        if not 0.0 <= self.proxy_threshold <= 1.0:
            raise ValueError("proxy_threshold must be between 0 and 1")
        for column, edges in self.bands.items():
            _check_edges(column, edges)


def _check_edges(column: str, edges: Sequence[float]) -> None:
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"bands for {column!r} must be at least two strictly increasing edges")
