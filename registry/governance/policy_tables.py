"""Reading a policy file: typed values that name the dotted key in every error, the keys each
table may hold, and the tables whose entries are tables or lists of their own (fairness limits,
risk tiers, score bands, risk points, fairness bands, intersections). :mod:`.policy` builds the
`Policy` from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .watch_policy import TOP_KEYS as WATCH_KEYS

FAIRNESS_BASES = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "precision",
    "accuracy",
    "demographic_parity",
    "equalized_odds",
)
# Which intersections of protected attributes an audit must assess: none, every pair, every
# combination, or a list of lists of attribute names.
INTERSECTIONS = ("none", "pairs", "all")
# What becomes of groups below the minimum size: merged into one declared group, or not assessed.
SMALL_GROUP_RULES = ("merge", "insufficient_data")
RISK_FACTS = ("special_category", "vulnerable_groups", "automated", "large_population", "supplier")
DRIFT_METHODS = ("psi", "wasserstein", "jensenshannon", "ks", "chisquare", "kl_div", "hellinger")

# Every key a policy file may hold, by table; anything else is a typo that would be ignored.
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "policy": frozenset({"name", "version", "description"}),
    "vocabulary": frozenset({"purposes", "legal_bases", "art9_conditions", "outcomes"}),
    "agreements": frozenset({"max_length_days"}),
    "approvals": frozenset({"validity_days", "record_approver_roles", "pilot_max_days"}),
    "dpia": frozenset({"review_within_days"}),
    "fairness": frozenset(
        {
            "min_group_size",
            "audit_validity_days",
            "proxy_threshold",
            "limits",
            "bands",
            "intersections",
            "small_groups",
            "max_shared_rows",
        }
    ),
    "drift": frozenset(
        {
            "method",
            "column_threshold",
            "drift_share",
            "action_on_breach",
            "every_receipts",
            "max_every_receipts",
            "failing_grace_hours",
            "reference_rows",
            "report_max_bytes",
            "report_retention_days",
        }
    ),
    "serving": frozenset(
        {
            "retain_inputs_days",
            "max_batch",
            "explanation_latency_ms",
            "allow_automated",
            "bands",
            "trusted_types",
        }
    ),
    "risk": frozenset({"large_population", "tiers", "points"}),
    "ledger": frozenset({"checkpoint_every_entries", "checkpoint_every_minutes"}),
    "watch": WATCH_KEYS,  # each rule's own keys are checked in .watch_policy
}


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class Limit:
    metric: str
    min: float | None
    max: float | None


@dataclass(frozen=True)
class Tier:
    tier: int
    approver_roles: tuple[str, ...]  # one distinct person per entry


@dataclass(frozen=True)
class Band:
    name: str
    below: float  # scores under this (and at/above the previous band's) fall in this band


class Reader:
    """Reads typed values from nested TOML tables, naming the dotted key in every error."""

    def __init__(self, source: str, data: dict[str, Any]) -> None:
        self.source, self.data = source, data

    def fail(self, key: str, problem: str) -> PolicyError:
        return PolicyError(f"{self.source}: {key}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is ...:
                    raise self.fail(key, "is missing")
                return default
            node = node[part]
        if isinstance(node, bool) and kind in (int, float, (int, float)):
            raise self.fail(key, f"must be a number, not {node!r}")
        if not isinstance(node, kind):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(key, f"must be {names}, not {type(node).__name__} {node!r}")
        return node

    def positive(self, key: str, kind: type = int, at_most: float | None = None) -> Any:
        value = self.get(key, (int, float) if kind is float else int)
        if value <= 0:
            raise self.fail(key, f"must be greater than 0 (got {value})")
        if at_most is not None and value > at_most:
            raise self.fail(key, f"must be at most {at_most} (got {value})")
        return value

    def number(self, key: str, value: Any) -> float:
        """A value found inside a list or table (not by `get`), which must be a number."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number, not {value!r}")
        return float(value)

    def unknown_keys(self) -> None:
        for table, value in self.data.items():
            if table not in KNOWN_KEYS:
                raise self.fail(table, f"unknown table; known: {sorted(KNOWN_KEYS)}")
            if not isinstance(value, dict):
                raise self.fail(table, f"must be a table, not {type(value).__name__}")
            unknown = sorted(set(value) - KNOWN_KEYS[table])
            if unknown:
                raise self.fail(
                    f"{table}.{unknown[0]}",
                    f"unknown key; [{table}] takes {sorted(KNOWN_KEYS[table])}",
                )

    def fraction(self, key: str) -> float:
        value = float(self.get(key, (int, float)))
        if not 0 <= value <= 1:
            raise self.fail(key, f"must be between 0 and 1 (got {value})")
        return value

    def words(self, key: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
        value = self.get(key, list)
        if not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "must be a non-empty list of words")
        if allowed is not None:
            unknown = [v for v in value if v not in allowed]
            if unknown:
                raise self.fail(key, f"unknown value(s) {unknown}; allowed: {list(allowed)}")
        return tuple(value)


def fairness_limits(r: Reader) -> list[Limit]:
    """`[fairness] limits`: each a metric with a min, a max or both."""
    limits = []
    for i, item in enumerate(r.get("fairness.limits", list)):
        key = f"fairness.limits[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("metric"), str):
            raise r.fail(key, "must be a table with a metric name")
        base, _, measure = item["metric"].rpartition("_")
        if base not in FAIRNESS_BASES or measure not in ("difference", "ratio"):
            raise r.fail(f"{key}.metric", f"unknown fairness metric {item['metric']!r}")
        lo, hi = item.get("min"), item.get("max")
        if lo is None and hi is None:
            raise r.fail(key, "needs a min or a max")
        limits.append(
            Limit(
                item["metric"],
                None if lo is None else r.number(f"{key}.min", lo),
                None if hi is None else r.number(f"{key}.max", hi),
            )
        )
    return limits


def risk_tiers(r: Reader, approvers: tuple[str, ...]) -> list[Tier]:
    """`[risk] tiers`: tiers 1 to 4 once each, with the roles that approve at each."""
    tiers = []
    for i, item in enumerate(r.get("risk.tiers", list)):
        key = f"risk.tiers[{i}]"
        if not isinstance(item, dict):
            raise r.fail(key, "must be a table with tier and approver_roles")
        number = item.get("tier")
        if isinstance(number, bool) or not isinstance(number, int):
            raise r.fail(f"{key}.tier", f"must be a whole number from 1 to 4, not {number!r}")
        roles = item.get("approver_roles")
        if not isinstance(roles, list) or not roles or any(x not in approvers for x in roles):
            raise r.fail(
                f"{key}.approver_roles",
                f"must be a non-empty list of roles that may approve {approvers}",
            )
        tiers.append(Tier(number, tuple(roles)))
    if sorted(t.tier for t in tiers) != [1, 2, 3, 4]:
        raise r.fail("risk.tiers", "must define tiers 1, 2, 3 and 4 once each")
    return tiers


def score_bands(r: Reader) -> list[Band]:
    """`[serving] bands`: rising, the last reaching above 1."""
    bands = []
    for i, item in enumerate(r.get("serving.bands", list)):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise r.fail(f"serving.bands[{i}]", "must be a table with name and below")
        bands.append(Band(item["name"], r.number(f"serving.bands[{i}].below", item.get("below"))))
    if (
        not bands
        or [b.below for b in bands] != sorted(b.below for b in bands)
        or bands[-1].below <= 1
    ):
        raise r.fail("serving.bands", "must rise, and the last band must reach above 1")
    return bands


def risk_points(r: Reader) -> dict[str, Any]:
    """`[risk] points`: whole points for each known fact."""
    points = r.get("risk.points", dict)
    unknown = [k for k in points if k not in RISK_FACTS]
    if unknown:
        raise r.fail("risk.points", f"unknown fact(s) {unknown}; allowed: {list(RISK_FACTS)}")
    for fact, value in points.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise r.fail(f"risk.points.{fact}", f"must be a whole number of points, not {value!r}")
    return points


def fairness_bands(r: Reader) -> dict[str, tuple[float, ...]]:
    """`[fairness] bands`: at least 3 rising edges per column."""
    fairness_bands = {}
    for column, edges in r.get("fairness.bands", dict, {}).items():
        key = f"fairness.bands.{column}"
        if not isinstance(edges, list) or len(edges) < 3:
            raise r.fail(key, "must be at least 3 rising band edges")
        numbers = [r.number(key, e) for e in edges]
        if numbers != sorted(numbers):
            raise r.fail(key, "must be at least 3 rising band edges")
        fairness_bands[column] = tuple(numbers)
    return fairness_bands


def intersections(r: Reader) -> str | tuple[tuple[str, ...], ...]:
    """ "none", "pairs", "all", or a list of lists of two or more attribute names."""
    value = r.get("fairness.intersections", (str, list))
    if isinstance(value, str):
        if value not in INTERSECTIONS:
            raise r.fail("fairness.intersections", f"must be one of {list(INTERSECTIONS)} or a "
                         f"list of lists of protected attributes, not {value!r}")
        return value
    for i, combo in enumerate(value):
        if (not isinstance(combo, list) or len(combo) < 2 or len(set(combo)) != len(combo)
                or not all(isinstance(a, str) and a for a in combo)):
            raise r.fail(f"fairness.intersections[{i}]",
                         "must be a list of two or more different attribute names")
    return tuple(tuple(combo) for combo in value)
