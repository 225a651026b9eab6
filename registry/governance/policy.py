"""Policies: every threshold and vocabulary, read from `policies/*.toml` and validated at start."""

from __future__ import annotations

import hashlib
import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .watch_policy import TOP_KEYS as WATCH_KEYS
from .watch_policy import WatchRules, parse_watch

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
# Cases one score request may carry at most: a batch holds a worker, and on SQLite the write
# lock while its receipts are stored, for its whole length.
MAX_BATCH = 1000
# A caseworker's outcome when neither the policy nor the model names others.
DEFAULT_OUTCOMES = ("accepted", "overridden", "no_action")
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


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    description: str
    content_hash: str
    purposes: tuple[str, ...]
    legal_bases: tuple[str, ...]
    art9_conditions: tuple[str, ...]
    # what a caseworker may report having done with a score, unless the model declares its own
    outcomes: tuple[str, ...]
    agreement_max_days: int
    approval_validity_days: int
    record_approver_roles: tuple[str, ...]
    dpia_review_max_days: int
    fairness_limits: tuple[Limit, ...]
    min_group_size: int
    audit_validity_days: int
    proxy_threshold: float
    fairness_bands: dict[str, tuple[float, ...]]
    intersections: str | tuple[tuple[str, ...], ...]
    small_groups: str
    max_shared_rows: float
    drift_method: str | None
    drift_column_threshold: float | None
    drift_share: float
    drift_action: str
    drift_every_receipts: int
    drift_max_every_receipts: int  # the rarest receipts-cadence a monitor may be given
    drift_failing_grace_hours: int  # how long a failing or overdue monitor still counts as met
    drift_reference_rows: int
    drift_report_max_bytes: int
    drift_report_retention_days: int
    retain_inputs_days: int
    max_batch: int
    explanation_latency_ms: float
    allow_automated: bool
    score_bands: tuple[Band, ...]
    trusted_types: tuple[str, ...]
    risk_points: dict[str, int]
    large_population: int
    tiers: tuple[Tier, ...]
    pilot_max_days: int
    # A signed checkpoint at least every so many ledger entries or minutes.
    checkpoint_every_entries: int = 100
    checkpoint_every_minutes: int = 60
    # Rules that watch how served models are used, and the inbox's window (.watch_policy).
    watch: WatchRules = WatchRules()

    def tier_rule(self, tier: int) -> Tier:
        return next(t for t in self.tiers if t.tier == tier)

    def required_intersections(self, protected: list[str]) -> list[tuple[str, ...]]:
        """The intersections an audit of data flagging `protected` must assess, in its order.

        A listed intersection applies only where the data flags each of its attributes."""
        if self.intersections == "none":
            return []
        if self.intersections in ("pairs", "all"):
            top = 2 if self.intersections == "pairs" else len(protected)
            return [c for size in range(2, top + 1)
                    for c in itertools.combinations(protected, size)]
        return [tuple(a for a in protected if a in wanted) for wanted in self.intersections
                if set(wanted) <= set(protected)]

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "content_hash": self.content_hash}


class _Reader:
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


def load_policy(path: Path) -> Policy:
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path.name}: not valid TOML: {exc}") from exc
    r = _Reader(path.name, data)
    r.unknown_keys()
    from ..records.agreements import LEGAL_BASES
    from .permissions import RULES

    approvers = tuple(sorted(RULES["decide"]))  # the roles that may give an approval at all

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

    points = r.get("risk.points", dict)
    unknown = [k for k in points if k not in RISK_FACTS]
    if unknown:
        raise r.fail("risk.points", f"unknown fact(s) {unknown}; allowed: {list(RISK_FACTS)}")
    for fact, value in points.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise r.fail(f"risk.points.{fact}", f"must be a whole number of points, not {value!r}")
    method = r.get("drift.method", str, "") or None
    if method is not None and method not in DRIFT_METHODS:
        raise r.fail("drift.method", f"unknown method {method!r}; allowed: {list(DRIFT_METHODS)}")
    action = r.get("drift.action_on_breach", str)
    if action not in ("alert", "suspend"):
        raise r.fail("drift.action_on_breach", "must be alert or suspend")
    fairness_bands = {}
    for column, edges in r.get("fairness.bands", dict, {}).items():
        key = f"fairness.bands.{column}"
        if not isinstance(edges, list) or len(edges) < 3:
            raise r.fail(key, "must be at least 3 rising band edges")
        numbers = [r.number(key, e) for e in edges]
        if numbers != sorted(numbers):
            raise r.fail(key, "must be at least 3 rising band edges")
        fairness_bands[column] = tuple(numbers)
    intersections = _intersections(r)
    small_groups = r.get("fairness.small_groups", str)
    if small_groups not in SMALL_GROUP_RULES:
        raise r.fail("fairness.small_groups", f"must be one of {list(SMALL_GROUP_RULES)}, "
                     f"not {small_groups!r}")
    trusted = r.get("serving.trusted_types", list, [])
    if not all(isinstance(t, str) and t for t in trusted):
        raise r.fail("serving.trusted_types", "must be a list of dotted type names")
    every_receipts = r.positive("drift.every_receipts")
    max_every = r.positive("drift.max_every_receipts")
    if every_receipts > max_every:
        raise r.fail("drift.every_receipts",
                     f"must be at most drift.max_every_receipts ({max_every}), "
                     f"got {every_receipts}")
    grace = r.get("drift.failing_grace_hours", int, 0)
    if grace < 0:
        raise r.fail("drift.failing_grace_hours", f"must be 0 or more (got {grace})")
    retain = r.get("serving.retain_inputs_days", int)
    if retain < 0:
        raise r.fail("serving.retain_inputs_days", f"must be 0 or more (got {retain})")

    return Policy(
        name=r.get("policy.name", str),
        version=str(r.get("policy.version", (str, int, float))),
        description=r.get("policy.description", str, ""),
        content_hash=hashlib.sha256(raw).hexdigest(),
        purposes=r.words("vocabulary.purposes"),
        legal_bases=r.words("vocabulary.legal_bases", LEGAL_BASES),
        art9_conditions=r.words("vocabulary.art9_conditions"),
        outcomes=(r.words("vocabulary.outcomes") if "outcomes" in data.get("vocabulary", {})
                  else DEFAULT_OUTCOMES),
        agreement_max_days=r.positive("agreements.max_length_days"),
        approval_validity_days=r.positive("approvals.validity_days"),
        record_approver_roles=r.words("approvals.record_approver_roles", approvers),
        dpia_review_max_days=r.positive("dpia.review_within_days"),
        fairness_limits=tuple(limits),
        min_group_size=r.positive("fairness.min_group_size"),
        audit_validity_days=r.positive("fairness.audit_validity_days"),
        proxy_threshold=r.fraction("fairness.proxy_threshold"),
        fairness_bands=fairness_bands,
        intersections=intersections,
        small_groups=small_groups,
        max_shared_rows=r.fraction("fairness.max_shared_rows"),
        drift_method=method,
        drift_column_threshold=r.get("drift.column_threshold", (int, float), None),
        drift_share=r.fraction("drift.drift_share"),
        drift_action=action,
        drift_every_receipts=every_receipts,
        drift_max_every_receipts=max_every,
        drift_failing_grace_hours=grace,
        drift_reference_rows=r.positive("drift.reference_rows"),
        drift_report_max_bytes=r.positive("drift.report_max_bytes"),
        drift_report_retention_days=r.positive("drift.report_retention_days"),
        retain_inputs_days=retain,
        max_batch=r.positive("serving.max_batch", at_most=MAX_BATCH),
        explanation_latency_ms=float(r.positive("serving.explanation_latency_ms", float)),
        allow_automated=r.get("serving.allow_automated", bool),
        score_bands=tuple(bands),
        trusted_types=tuple(trusted),
        risk_points={k: int(v) for k, v in points.items()},
        large_population=r.positive("risk.large_population"),
        tiers=tuple(sorted(tiers, key=lambda t: t.tier)),
        pilot_max_days=r.positive("approvals.pilot_max_days"),
        checkpoint_every_entries=r.positive("ledger.checkpoint_every_entries"),
        checkpoint_every_minutes=r.positive("ledger.checkpoint_every_minutes"),
        watch=parse_watch(data.get("watch"), r.fail),
    )


def _intersections(r: _Reader) -> str | tuple[tuple[str, ...], ...]:
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


def load_policies(directory: Path) -> dict[str, Policy]:
    """Every policy in the folder, by name; a bad file stops the start."""
    policies: dict[str, Policy] = {}
    for path in sorted(directory.glob("*.toml")):
        policy = load_policy(path)
        if policy.name in policies:
            raise PolicyError(f"{path.name}: policy.name: {policy.name!r} is used by another file")
        policies[policy.name] = policy
    if not policies:
        raise PolicyError(f"{directory}: no policy files (*.toml) found")
    return policies
