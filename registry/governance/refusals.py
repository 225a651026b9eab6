"""Refused score calls on the ledger, without letting a client grow it at will: the first
refusal of a kind (client, model, reason) in a window is an entry of its own, as every refusal
once was; the further ones are counted in a tally row, in the refusal's own transaction, and
written as one summary entry when the window closes or the next other entry is appended."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import RefusalTally
from . import ledger
from .actors import Actor

WINDOW = timedelta(hours=1)


def record(session: Session, actor: Actor, model: str, purpose: str,
           problems: dict[str, list[str]], reason: str, now: datetime) -> None:
    """Record one refusal; the caller commits."""
    ledger.lock_head(session)  # refusals queue with every ledger writer: no tally is lost
    tally = session.scalars(select(RefusalTally).where(
        RefusalTally.actor == actor.ledger_name, RefusalTally.model == model,
        RefusalTally.reason == reason)).first()
    if tally is not None and now < tally.window_started_at + WINDOW:
        tally.pending += 1
        tally.first_pending_at = tally.first_pending_at or now
        tally.last_pending_at, tally.purpose, tally.problems = now, purpose, problems
        session.flush()
        return
    # A new window: what was counted in the last one is summarised first, by the append.
    change: dict[str, Any] = {"purpose": purpose, "problems": problems}
    # the refused tool's organisation keeps the entry (the model named may be no one's)
    ledger.append(session, actor, "score_refused", "model", model, change, now,
                  organisation_id=actor.organisation_id)
    if tally is None:
        session.add(RefusalTally(actor=actor.ledger_name, model=model, reason=reason,
                                 window_started_at=now, pending=0))
    else:
        tally.window_started_at = now
    session.flush()
