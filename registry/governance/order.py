"""The order is told: the upstream records a record waits on, in the order they are approved.

A dataset of personal data needs an approved DPIA, and a model needs the DPIA that lists it, so
the order is agreements → DPIAs → datasets → model → version. A gate answer lists what is not
yet usable along that order, so nobody learns it by being refused.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from ..records import DPIA, Dataset, Governed, ModelVersion, PredictiveModel
from ..records.datasets import PERSONAL_CLASSIFICATIONS
from . import chain, gates, upstream
from .chain import usable
from .gates import first
from .policy import Policy

ORDER = ("agreement", "dpia", "dataset", "model", "model_version")


def gate(session: Session, record: Governed, policy: Policy, now: datetime) -> gates.GateResult:
    """The record's gate answer: its requirements, and what it waits on upstream."""
    result = chain.evaluate(session, record, policy, now)
    result.waiting_on = waiting_on(session, record, policy, now.date())
    return result


def waiting_on(session: Session, record: Governed, policy: Policy, today: date
               ) -> list[dict[str, Any]]:
    """Each upstream record not usable today, in the order they must be approved."""
    found: dict[tuple[str, int], Governed] = {}
    for r in _upstream(session, record, policy, today):
        found.setdefault((r.kind, r.id), r)
    waiting = []
    for r in sorted(found.values(), key=lambda r: (ORDER.index(r.kind), r.id)):
        u = usable(session, r, policy, today)
        if not u.ok:
            waiting.append({**_key(r), "kind": r.kind, "label": r.label, "state": r.state,
                            "action": f"{first(r)}: {u.reason.replace(r.label, 'it', 1)}"})
    return waiting


def _key(r: Governed) -> dict[str, Any]:
    if isinstance(r, PredictiveModel):
        return {"name": r.name}
    if isinstance(r, ModelVersion):
        return {"name": r.model.name, "number": r.number}
    return {"id": r.id}


def _upstream(session: Session, record: Governed, policy: Policy, today: date
              ) -> list[Governed]:
    """What the record's gate asks to be usable, directly or further up."""
    if isinstance(record, Dataset):
        out: list[Governed] = list(record.agreements)
        if record.classification in PERSONAL_CLASSIFICATIONS:
            out += _any_one(session, upstream.dpias_covering_dataset(session, record), policy,
                            today)
        return out
    if isinstance(record, PredictiveModel):
        return _any_one(session, upstream.dpias_covering_model(session, record), policy, today)
    if isinstance(record, ModelVersion):
        out = [record.model, *_upstream(session, record.model, policy, today)]
        for d in upstream.version_datasets_of(record):
            out += [d, *_upstream(session, d, policy, today)]
        return out
    return []  # agreements and DPIAs rest on no other record


def _any_one(session: Session, dpias: list[DPIA], policy: Policy, today: date) -> list[Governed]:
    """One usable DPIA is enough: the others are waited on only when none is."""
    if any(usable(session, p, policy, today).ok for p in dpias):
        return []
    return list(dpias)


# A refusal's summary: at most this many lines, the rest left to the checklist.
SUMMARY_LINES = 5
_PAGES = {"agreement": "/agreements/{id}", "dataset": "/datasets/{id}", "dpia": "/dpias/{id}",
          "model": "/models/{name}", "model_version": "/models/{name}/versions/{number}"}


def page_of(kind: str, key: dict[str, Any]) -> str:
    """The web page of a record, from its key (see `_key`)."""
    return _PAGES[kind].format(**key)


def refusal_summary(gate_result: gates.GateResult, record: Governed
                    ) -> list[dict[str, str]]:
    """An approval refusal in a few lines with links, as an officer reads it: first what must
    be approved upstream (each record's page), then the record's own unmet requirements (its
    checklist), then how many more the checklist holds."""
    lines = [{"text": _line(w["action"]),
              "href": page_of(w["kind"], {k: w[k] for k in ("id", "name", "number") if k in w})}
             for w in gate_result.waiting_on]
    own = page_of(record.kind, _key(record))
    lines += [{"text": _line(f"{r.detail}: {r.remedy}" if r.remedy else r.detail),
               "href": f"{own}#req-{r.id}"}
              for r in gate_result.unmet if r.id != "approvals"]
    if len(lines) > SUMMARY_LINES:
        more = len(lines) - (SUMMARY_LINES - 1)
        lines = [*lines[:SUMMARY_LINES - 1],
                 {"text": f"and {more} more: see the checklist", "href": f"{own}#checklist"}]
    return lines


def _line(text: str, most: int = 240) -> str:
    text = " ".join(text.split())
    text = text if len(text) <= most else text[:most - 1].rstrip() + "…"
    return text[:1].upper() + text[1:]
