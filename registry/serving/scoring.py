"""Scoring cases: check the caller, the chain and the features; explain; write the receipt."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ..governance import ledger
from ..governance.actors import Actor
from ..governance.errors import Forbidden, Invalid
from ..governance.permissions import require
from ..governance.policy import Policy
from ..records import ApiClient, ModelVersion, ScoreReceipt
from ..storage import FileStore

NAN = float("nan")
from . import features, loaded, servability


def check_client(session: Session, actor: Actor, model: str, purpose: str, now: datetime) -> None:
    """Only a client allowed this model and this purpose may score; refusals are recorded."""
    require(actor, "score")
    client = session.get(ApiClient, actor.id)
    problems = {}
    if client is None or model not in client.models:
        problems["model"] = [f"{actor.name} is not allowed to use model {model!r}"]
    if client is None or purpose not in client.purposes:
        problems["purpose"] = [f"{actor.name} is not allowed the purpose {purpose!r}"]
    if problems:
        # The refusal is kept even though the request is refused: nothing else was written yet.
        session.rollback()
        ledger.append(session, actor, "score_refused", "model", model,
                      {"purpose": purpose, "problems": problems}, now)
        session.commit()
        raise Forbidden(" and ".join(p[0] for p in problems.values()), problems)


def band_of(score: float, version: ModelVersion, policy: Policy) -> str:
    bands = version.bands or [{"name": b.name, "below": b.below} for b in policy.score_bands]
    return next((b["name"] for b in bands if score < b["below"]), bands[-1]["name"])


def score(session: Session, actor: Actor, name: str, purpose: str, cases: list[Any],
          policy: Policy, store: FileStore, now: datetime, number: int | None = None
          ) -> dict[str, Any]:
    if not cases:
        raise Invalid("nothing to score", {"instances": ["give features or instances"]})
    if len(cases) > policy.max_batch:
        raise Invalid(f"at most {policy.max_batch} cases per request",
                      {"instances": [f"{len(cases)} given; the policy allows {policy.max_batch}"]})
    check_client(session, actor, name, purpose, now)
    version, verdict = servability.require_servable(session, name, number, policy, now.date(),
                                                    len(cases))
    where = "features" if len(cases) == 1 else "instances"
    rows = [features.validate(c, version.feature_schema,
                              where if len(cases) == 1 else f"instances.{i}")
            for i, c in enumerate(cases)]
    prepared = loaded.get(session, version, store, policy, now)
    # The model sees a missing value as NaN (as in training); the receipt keeps null.
    model_rows = [{k: NAN if v is None else v for k, v in row.items()} for row in rows]
    explanations = prepared.explainer.score_and_explain(
        model_rows if len(model_rows) > 1 else model_rows[0])
    keep_until = now + timedelta(days=policy.retain_inputs_days)
    results = []
    for case, row, explanation in zip(cases, rows, explanations, strict=True):
        band = band_of(explanation.score, version, policy)
        body = explanation.to_dict()
        receipt = ScoreReceipt(
            id=str(uuid.uuid4()), model_version_id=version.id, approval_id=verdict.approval_id,
            client_id=actor.id, purpose=purpose, inputs_hash=ledger.sha256(case),
            inputs=row if policy.retain_inputs_days > 0 else None,
            inputs_expire_at=keep_until if policy.retain_inputs_days > 0 else None,
            score=explanation.score, band=band,
            explanation={k: body[k] for k in ("base_value", "contributions", "scale")},
            created_at=now,
        )
        session.add(receipt)
        results.append({"receipt_id": receipt.id, "score": explanation.score, "band": band,
                        "explanation": body})
    return {
        "model": name, "version": version.number, "approval_id": verdict.approval_id,
        "valid_until": verdict.valid_until, "purpose": purpose, "results": results,
    }
