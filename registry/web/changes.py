"""Decisions on a version's evidence, as the version page and the dashboard show them: the changes
proposed to its bias audit or drift monitor, field by field in plain words, and the gaps an
officer waives or acknowledges item by item. Who may decide is asked of `governance/`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..governance import evidence, gaps, proposals, waivers
from ..governance.actors import Actor
from ..governance.policy import Policy
from ..records import Dataset, Decision, ModelVersion
from .present import format_date, humanise, number, percent, user_name

ACTIONS = {"suspend": "suspend the version", "alert": "alert the officers"}
VERDICTS = {"pass": "pass", "fail": "fail", "insufficient_data": "insufficient data"}


def _columns(value: Any) -> str:
    named = [*(value or {}).get("numerical", []), *(value or {}).get("categorical", [])]
    return f"{len(named)} column{'' if len(named) == 1 else 's'}: {', '.join(named)}"


def _short_hash(value: Any) -> str:
    return f"sha256 {str(value)[:12]}…"


def _listed(value: Any) -> str:
    return ", ".join(value) if value else "none"


def _receipts(value: Any) -> str:
    return "not by receipts" if value is None else f"every {number(value)} receipts"


# field -> (label, how its value reads); a dataset id is named by the caller, who has a session
FIELDS: dict[str, tuple[str, Any]] = {
    "reference_hash": ("Reference data", _short_hash),
    "reference_rows": ("Reference rows", number),
    "columns": ("Columns watched", _columns),
    "method": ("Drift test", lambda v: v or "the policy's"),
    "column_threshold": ("Column threshold", lambda v: "the policy's" if v is None else f"{v:g}"),
    "drift_share": ("A breach when this share of columns drift", percent),
    "every_receipts": ("How often it checks", _receipts),
    "daily": ("Also checks daily", lambda v: "yes" if v else "no"),
    "action": ("On a breach", lambda v: ACTIONS.get(v, humanise(v))),
    "dataset_id": ("Evaluation dataset", str),
    "data_hash": ("Data audited", _short_hash),
    "label_column": ("Label column", str),
    "positive_label": ("Positive label", str),
    "threshold": ("Operating threshold (accepting sets the version's)", lambda v: f"{v:g}"),
    "sensitive_features": ("Protected attributes audited", _listed),
    "extra_groupings": ("Other groupings audited", _listed),
    "verdict": ("Verdict", lambda v: VERDICTS.get(v, humanise(v))),
    "model_sha256": ("Artefact audited", _short_hash),
}


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class ProposalView:
    kind: str
    id: int
    what: str  # "drift monitor"
    anchor: str  # the form's id on the page
    proposed_by: str
    proposed_at: datetime
    changes: list[Change]
    may_settle: bool


def _reads(session: Session, field: str, value: Any) -> str:
    if value is None and field not in ("method", "column_threshold", "every_receipts"):
        return "none"
    if field == "dataset_id":
        dataset = session.get(Dataset, value)
        return dataset.title or dataset.name if dataset else f"dataset {value}"
    return str(FIELDS[field][1](value))


def proposal_views(session: Session, actor: Actor, version: ModelVersion) -> list[ProposalView]:
    views = []
    for proposed in evidence.proposals(session, version):
        kind = evidence.kind_of(proposed)
        changed = proposals.changes(session, version, proposed)
        views.append(ProposalView(
            kind, proposed.id, evidence.EVIDENCE_WORDS[kind], f"proposal-{kind}-{proposed.id}",
            user_name(proposed.created_by_id), proposed.created_at,
            [Change(FIELDS[f][0], _reads(session, f, old), _reads(session, f, new))
             for f, (old, new) in changed.items()],
            proposals.may_settle(actor, version, proposed)))
    return views


@dataclass
class GapView:
    gap: gaps.Gap
    anchor: str

    @property
    def verb(self) -> str:
        return "acknowledge" if self.gap.decision == "acknowledge" else "waive"


def gap_views(session: Session, version: ModelVersion, policy: Policy) -> list[GapView]:
    """The gaps with items still outstanding, oldest evidence first."""
    return [GapView(g, gap_anchor(g.requirement, g.evidence))
            for g in gaps.find(session, version, policy) if g.outstanding]


def gap_anchor(requirement: str, evidence_ref: str) -> str:
    return f"gap-{requirement}-{evidence_ref.replace(':', '-')}"


def recorded_waivers(session: Session, version: ModelVersion) -> list[Decision]:
    return list(session.scalars(select(Decision).where(
        Decision.subject_kind == version.kind, Decision.subject_id == version.id,
        Decision.decision.in_(("waive", "acknowledge"))).order_by(Decision.id)))


def page_context(session: Session, actor: Actor, version: ModelVersion,
                 policy: Policy) -> dict[str, Any]:
    return {"proposals": proposal_views(session, actor, version),
            "gaps": gap_views(session, version, policy),
            "waivers": recorded_waivers(session, version),
            "may_waive": waivers.may_waive(actor, version)}


# --- the officer's dashboard ----------------------------------------------------------------------

@dataclass
class ToDecide:
    record: ModelVersion
    what: str
    todo: str
    anchor: str


def to_decide(session: Session, actor: Actor, policy: Policy) -> list[ToDecide]:
    """Versions with a proposed change this officer may settle, or a gap they may waive."""
    items = []
    for version in session.scalars(select(ModelVersion).where(
            ModelVersion.state.in_(("submitted", "approved", "suspended")))
            .order_by(ModelVersion.id)):
        pending = [p for p in evidence.proposals(session, version)
                   if proposals.may_settle(actor, version, p)]
        if pending:
            what = "; ".join(
                f"{evidence.EVIDENCE_WORDS[evidence.kind_of(p)]} proposed by "
                f"{user_name(p.created_by_id)} on {format_date(p.created_at)}" for p in pending)
            items.append(ToDecide(version, what, "Accept or decline the proposed change"
                                  + ("s" if len(pending) > 1 else ""), "#proposals"))
        if not waivers.may_waive(actor, version):
            continue
        open_ = [g for g in gaps.find(session, version, policy)
                 if g.decision == "waive" and g.outstanding]
        if open_:
            what = "; ".join(f"{humanise(g.requirement)}: {', '.join(g.outstanding)}"
                             for g in open_)
            items.append(ToDecide(version, what, "Waive each item with your reasons, or ask "
                                  "for the evidence to be fixed", "#gaps"))
    return items
