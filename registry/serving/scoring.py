"""Scoring cases: check the caller, the chain and the features; explain; write the receipt.

A warm request makes two round trips to the database: one SELECT reads the caller's token and
the ledger head together (see :func:`..governance.people.ledger_head_read`), one INSERT writes
its receipts, committed before the answer leaves. A client whose token was seen before (see
:mod:`.tokens`) makes one: the INSERT itself checks the token and the head (``guard``).
Whether the model may be served and what the client may use are cached against the ledger
head (see :mod:`.verdicts`), and the loaded model against its artefact's sha256 (see
:mod:`.loaded`), warmed before the first caller (see :mod:`.warm`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..analysis.statements import explanation
from ..governance import ledger, people, receipt_chain, refusals
from ..governance.actors import Actor
from ..governance.errors import Forbidden, Invalid, NotFound
from ..governance.permissions import allowed, require
from ..governance.policy import Policy
from ..platform import sealing
from ..platform.db import commit_alone, execute_alone, read_first
from ..platform.storage import FileStore
from ..records import ScoreReceipt
from . import compact, features, loaded, verdicts

# A batch's receipts are this one statement, prepared once and run for every row in one
# transaction (see platform.db.commit_alone).
_INSERT_RECEIPTS = ScoreReceipt.__table__.insert()
# One receipt stored only while the client's token and the ledger's head are as the checks saw
# them (governance.people.STILL_CURRENT): the guard's check and the write are one statement.
_COLUMNS = list(ScoreReceipt.__table__.columns)
_INPUTS_SEALED_AS = ScoreReceipt.__table__.c.inputs.type.context
_EXPLANATION_SEALED_AS = ScoreReceipt.__table__.c.explanation.type.context
_INSERT_GUARDED = _INSERT_RECEIPTS.from_select(
    [c.name for c in _COLUMNS],
    select(*(bindparam(c.name, type_=c.type) for c in _COLUMNS)).where(people.STILL_CURRENT),
).returning(ScoreReceipt.__table__.c.id)
# The longest purpose a request may name (the receipts' column), and model name (the models').
MAX_PURPOSE = 80
MAX_NAME = 80


class Refused(Forbidden):
    """A score call refused for the caller's rights or the purpose; it is on the ledger."""


class Stale(Exception):
    """A guarded score's token or ledger head is not current any more: nothing was written, and
    the request is to be answered from scratch."""


def check_client(session: Session, actor: Actor, model: str, purpose: str, now: datetime,
                 ledger_head: str | None = None) -> None:
    """Only a client allowed this model and this purpose may score; refusals are recorded."""
    require(actor, "score")
    at = verdicts.head(session) if ledger_head is None else ledger_head
    rights = verdicts.rights(session, actor.id, at)
    problems = {}
    if rights is None or model not in rights.models:
        problems["model"] = [f"{actor.name} is not allowed to use model {model!r}"]
    if rights is None or purpose not in rights.purposes:
        problems["purpose"] = [f"{actor.name} is not allowed the purpose {purpose!r}"]
    if problems:
        _refuse(session, actor, model, purpose, problems, f"not allowed: {', '.join(problems)}",
                now)


def check_purpose(session: Session, actor: Actor, model: str, purpose: str,
                  verdict: verdicts.Verdict, now: datetime) -> None:
    """The purpose must be the model's, and granted for use by every agreement under the
    version served, today; refusals are recorded."""
    refusal = verdict.purpose_refusal(purpose)
    if refusal:
        _refuse(session, actor, model, purpose, {"purpose": [refusal]}, "purpose not granted",
                now)


def _refuse(session: Session, actor: Actor, model: str, purpose: str,
            problems: dict[str, list[str]], reason: str, now: datetime) -> NoReturn:
    # The refusal is kept even though the request is refused: nothing else was written yet.
    session.rollback()
    refusals.record(session, actor, model, purpose, problems, reason, now)
    session.commit()
    raise Refused(" and ".join(p[0] for p in problems.values()), problems)


def clear_to_serve(session: Session, actor: Actor, name: str, purpose: str,
                   number: int | None, policy: Policy, now: datetime) -> bool:
    """Whether a score by this client would pass every check answered from the caches
    alone: allowed the model and the purpose, the version servable and loaded, so nothing is
    read and nothing refused (on the ledger). Reads nothing, changes nothing."""
    at = people.ledger_head_seen(session)
    if at is None or len(name) > MAX_NAME or actor.kind != "client" or \
            not allowed(actor, "score"):
        return False
    found = verdicts.cached(actor.id, actor.organisation_id, name, number, policy, now, at,
                            loaded.has)
    if found is None:
        return False
    rights, verdict = found
    return (rights is not None and name in rights.models and purpose in rights.purposes
            and verdict.ok and not verdict.purpose_refusal(purpose))


def bands_of(bands: Any, policy: Policy) -> list[tuple[str, float]]:
    """The version's score bands, else the policy's: (name, upper bound) in order."""
    listed = bands or [{"name": b.name, "below": b.below} for b in policy.score_bands]
    return [(b["name"], b["below"]) for b in listed]


def band_of(score: float, bands: list[tuple[str, float]]) -> str:
    """The name of the first band whose upper bound the score is below (the last band if none)."""
    return next((name for name, below in bands if score < below), bands[-1][0])


def score(session: Session, actor: Actor, name: str, purpose: str, cases: list[Any],
          policy: Policy, store: FileStore, now: datetime, number: int | None = None,
          *, commit: bool = False, guard: str | None = None) -> dict[str, Any]:
    """Score and explain the cases, adding one receipt per case to the session.

    With ``commit`` the receipts are committed before this returns; otherwise the caller
    commits. With ``commit`` the checks are a reader's work that holds back no other request
    (see :func:`..db.read_first`; none at all when the caches answer them) and end before the
    model runs (or loads); the receipts are then stored in a short transaction of their own.

    ``guard`` is the hash of the token the actor was named by without a lookup (the ledger head
    taken as read, :func:`..governance.people.assume_ledger_head`): the one receipt is stored
    only if both are still current, else :class:`Stale` is raised with nothing written.
    """
    if len(name) > MAX_NAME:
        raise NotFound(f"no model named {name[:MAX_NAME]!r}…", {"model": ["no such model"]})
    if not cases:
        raise Invalid("nothing to score", {"instances": ["give features or instances"]})
    if len(cases) > policy.max_batch:
        raise Invalid(f"at most {policy.max_batch} cases per request",
                      {"instances": [f"{len(cases)} given; the policy allows {policy.max_batch}"]})
    # The head as the token's lookup read it, moments ago; a cache entry keyed by it is never
    # older than it (so a change since is seen by the next request, as before). When the checks
    # below are all answered from the caches (the warm request), they read nothing: no read
    # transaction is begun at all.
    at = people.ledger_head_read(session)
    reading = commit and not (
        at is not None and not session.in_transaction()
        and verdicts.cached(actor.id, actor.organisation_id, name, number, policy, now, at,
                            loaded.has)) and read_first(session)
    at = at or verdicts.head(session)
    check_client(session, actor, name, purpose, now, at)
    verdict = verdicts.verdict(session, actor.organisation_id, name, number, policy, now, at)
    check_purpose(session, actor, name, purpose, verdict, now)
    verdicts.require_servable(session, verdict, len(cases))
    if reading:
        session.commit()  # nothing written yet: this only ends the read transaction
    check = features.checker(verdict.version_id, verdict.feature_schema)
    rows = [check(cases[0])] if len(cases) == 1 else \
        [check(c, f"instances.{i}") for i, c in enumerate(cases)]
    prepared = loaded.get(session, verdict, store, policy, now, release=commit)
    explainer = prepared.explainer
    scored = explainer.score_rows(rows if len(rows) > 1 else rows[0])
    bands = bands_of(verdict.bands, policy)
    keep = policy.retain_inputs_days > 0
    keep_until = now + timedelta(days=policy.retain_inputs_days) if keep else None
    base, scale, specs = explainer.base_value, explainer.scale, explainer.features
    # Both sealed columns in one pass each, under one data key (platform.sealing.seal_many).
    packed = sealing.seal_many(
        [compact.pack(base, values, scale, explained, score_) for score_, explained, values
         in zip(scored.score, scored.explained, scored.contributions, strict=True)],
        _EXPLANATION_SEALED_AS)
    kept = sealing.seal_many(rows, _INPUTS_SEALED_AS) if keep else [None] * len(rows)
    results, receipts = [], []
    for row, score_, explained, values, sealed_explanation, sealed_inputs in zip(
            rows, scored.score, scored.explained, scored.contributions, packed, kept,
            strict=True):
        band = band_of(score_, bands)
        receipt_id, code = str(uuid.uuid4()), receipt_chain.new_code()
        receipts.append({
            "id": receipt_id, "model_version_id": verdict.version_id,
            "approval_id": verdict.approval_id, "client_id": actor.id, "purpose": purpose,
            "inputs_hash": ledger.sha256(row), "inputs": sealed_inputs,
            "inputs_expire_at": keep_until, "score": score_, "band": band,
            "explanation": sealed_explanation,
            "created_at": now, "outcome": None, "overrode": None, "outcome_reason": None,
            "outcome_at": None, "code": code, "batch": None, "batch_index": None,
        })
        results.append({"receipt_id": receipt_id, "score": score_, "band": band,
                        "explanation": explanation(specs, [row.get(f.name) for f in specs],
                                                   values, scale, base, score_, explained),
                        "verify_code": receipt_chain.display_code(code)})
    # A Core insert built once, without the ORM's unit of work: receipts are not changed again
    # in this request.
    if guard is not None:
        if len(receipts) != 1 or not commit or session.in_transaction() or not at:
            raise Stale("a guarded score is one row stored by itself")
        if not execute_alone(session.get_bind(), _INSERT_GUARDED, {
                **receipts[0], "guard_client": actor.id, "guard_org": actor.organisation_id,
                "guard_token": guard, "guard_head": at}, write=True):
            raise Stale("the token or the ledger has changed since the token was seen")
    elif commit and not session.in_transaction():
        commit_alone(session.get_bind(), _INSERT_RECEIPTS, receipts)
    else:
        session.connection().execute(_INSERT_RECEIPTS, receipts)
        if commit:
            session.commit()
    return {
        "model": name, "version": verdict.number, "approval_id": verdict.approval_id,
        "approved_until": verdict.approved_until, "purpose": purpose, "results": results,
    }
