"""Policies: every threshold and vocabulary, read from `policies/*.toml` and validated at start."""

from __future__ import annotations

import hashlib
import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import policy_tables
from .policy_tables import (
    DRIFT_METHODS,
    SMALL_GROUP_RULES,
    Band,
    Limit,
    PolicyError,
    Reader,
    Tier,
)
from .policy_tables import (
    KNOWN_KEYS as KNOWN_KEYS,  # the keys each table may hold (re-exported: tests check them)
)
from .watch_policy import WatchRules, parse_watch

# Cases one score request may carry at most: a batch holds a worker, and on SQLite the write
# lock while its receipts are stored, for its whole length.
MAX_BATCH = 1000
# A caseworker's outcome when neither the policy nor the model names others.
DEFAULT_OUTCOMES = ("accepted", "overridden", "no_action")


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


def load_policy(path: Path) -> Policy:
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path.name}: not valid TOML: {exc}") from exc
    r = Reader(path.name, data)
    r.unknown_keys()
    from ..records.agreements import LEGAL_BASES
    from .permissions import RULES

    approvers = tuple(sorted(RULES["decide"]))  # the roles that may give an approval at all

    limits = policy_tables.fairness_limits(r)
    tiers = policy_tables.risk_tiers(r, approvers)
    bands = policy_tables.score_bands(r)
    points = policy_tables.risk_points(r)
    method = r.get("drift.method", str, "") or None
    if method is not None and method not in DRIFT_METHODS:
        raise r.fail("drift.method", f"unknown method {method!r}; allowed: {list(DRIFT_METHODS)}")
    action = r.get("drift.action_on_breach", str)
    if action not in ("alert", "suspend"):
        raise r.fail("drift.action_on_breach", "must be alert or suspend")
    fairness_bands = policy_tables.fairness_bands(r)
    intersections = policy_tables.intersections(r)
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
