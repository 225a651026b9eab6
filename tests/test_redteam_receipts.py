"""Red team: does a receipt's safeguard read "Met" while it is not doing its job? The public
page /verify/<code> against a receipt, its batch and its ledger entry edited in the database;
the retention erasure against the copy of the inputs the explanation keeps."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from registry.governance import ledger, receipt_chain
from registry.governance.retention import erase_expired_inputs
from registry.records import LedgerEntry, ReceiptBatch, ScoreReceipt

from .chain import build_chain, case, ok
from .conftest import Api

SCORE = {"purpose": "credit_risk_research"}


def _scored(api: Api, model: str, rows: int = 1) -> list[dict[str, Any]]:
    return [ok(api.post(f"/api/v1/models/{model}/score", as_="app",
                        json={**SCORE, "features": case(i)}))["results"][0] for i in range(rows)]


def _checkpoint(app: Flask) -> None:
    assert app.test_cli_runner().invoke(args=["ledger", "checkpoint"]).exit_code == 0


def _page(app: Flask, code: str) -> str:
    page = app.test_client().get(f"/verify/{code}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _forge_batch(app: Flask, receipt_id: str, *, rehash: bool) -> None:
    """The receipt's score changed, its batch's root and the ledger entry recording it made to
    match; with ``rehash`` the entry's own hashes too (the chain then breaks at the next)."""
    with app.extensions["gatehouse"].sessions() as session:
        receipt = session.get(ScoreReceipt, receipt_id)
        receipt.score = 0.01
        session.flush()
        leaves = [h for _, h in receipt_chain.leaf_rows(
            session, ScoreReceipt.batch == receipt.batch)]
        root = receipt_chain.merkle.root(leaves).hex()
        session.get(ReceiptBatch, receipt.batch).root = root
        entry = session.scalars(select(LedgerEntry).where(
            LedgerEntry.action == receipt_chain.ACTION,
            LedgerEntry.subject_id == str(receipt.batch))).one()
        entry.change = {**entry.change, "root": root}
        if rehash:
            entry.change_hash = ledger.sha256(entry.change)
            entry.entry_hash = ledger._entry_hash(entry)
        session.commit()


@pytest.mark.parametrize("rehash", [False, True])
def test_the_verify_page_does_not_vouch_for_a_batch_entry_rewritten_under_its_checkpoint(
        app: Flask, api: Api, rehash: bool) -> None:
    chain = build_chain(api)
    [result] = _scored(api, chain.model)
    _checkpoint(app)
    assert "signed in checkpoint" in _page(app, result["verify_code"])
    ok(api.get(f"/api/v1/receipts/{result['receipt_id']}", as_="dee"))  # an entry after it
    _checkpoint(app)
    _forge_batch(app, result["receipt_id"], rehash=rehash)
    assert "signed in checkpoint" not in _page(app, result["verify_code"])


def test_the_verify_page_says_an_edited_receipt_does_not_match_rather_than_not_yet(
        app: Flask, api: Api) -> None:
    chain = build_chain(api)
    [result] = _scored(api, chain.model)
    _checkpoint(app)
    with app.extensions["gatehouse"].engine.begin() as conn:
        conn.execute(text("UPDATE score_receipts SET band = 'low' WHERE id = :id"),
                     {"id": result["receipt_id"]})
    html = _page(app, result["verify_code"])
    assert "Not yet" not in html and "does not match" in html


def _explained_values(got: dict[str, Any]) -> dict[str, Any]:
    return {item["feature"]: item["value"] for item in got["explanation"]["contributions"]}


def _stored_explanation(app: Flask, receipt_id: str) -> dict[str, Any]:
    with app.extensions["gatehouse"].sessions() as session:
        return session.get(ScoreReceipt, receipt_id).explanation


def test_erased_inputs_do_not_live_on_in_the_explanation(
        app: Flask, api: Api, clock: Any) -> None:
    chain = build_chain(api)
    [result] = _scored(api, chain.model)
    receipt = result["receipt_id"]
    sent = case(0)
    got = ok(api.get(f"/api/v1/receipts/{receipt}", as_="dee"))
    assert got["inputs"] is not None  # kept for now: the explanation reads as it was given
    assert got["explanation"] == result["explanation"]
    assert "x" not in _stored_explanation(app, receipt)  # the inputs are kept once, not twice
    services = app.extensions["gatehouse"]
    clock.advance(days=services.policy.retain_inputs_days + 1)
    with services.sessions() as session:
        assert erase_expired_inputs(session, clock.now()) == 1
        session.commit()
    got = ok(api.get(f"/api/v1/receipts/{receipt}", as_="dee"))
    assert got["inputs"] is None
    assert set(_explained_values(got).values()) == {None}
    statements = [i["statement"] for i in got["explanation"]["contributions"]]
    assert all("erased" in s and "not recorded" not in s for s in statements)
    assert not any(f" {v} " in " ".join(statements) for k, v in sent.items() if len(str(v)) > 3)
    # what the score said of each feature's weight stays, as the record
    assert [i["contribution"] for i in got["explanation"]["contributions"]] == [
        i["contribution"] for i in result["explanation"]["contributions"]]


def test_inputs_not_kept_are_not_kept_in_the_explanation_either(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    services = app.extensions["gatehouse"]
    services.policy = dataclasses.replace(services.policy, retain_inputs_days=0)
    [result] = _scored(api, chain.model)
    assert "x" not in _stored_explanation(app, result["receipt_id"])
    got = ok(api.get(f"/api/v1/receipts/{result['receipt_id']}", as_="dee"))
    assert got["inputs"] is None and set(_explained_values(got).values()) == {None}


def _erasures(app: Flask) -> list[tuple[str, str, dict[str, Any]]]:
    with app.extensions["gatehouse"].sessions() as session:
        return [(e.subject_kind, e.subject_id, e.change) for e in session.scalars(
            select(LedgerEntry).where(LedgerEntry.action == "erase_inputs"))]


def test_the_erasure_of_inputs_is_on_the_ledger_by_the_sweep_or_on_reading(
        app: Flask, api: Api, clock: Any) -> None:
    chain = build_chain(api)
    swept, read = _scored(api, chain.model, rows=2)
    services = app.extensions["gatehouse"]
    clock.advance(days=services.policy.retain_inputs_days + 1)
    got = ok(api.get(f"/api/v1/receipts/{read['receipt_id']}", as_="dee"))  # before the sweep
    assert got["inputs"] is None
    with services.sessions() as session:
        assert erase_expired_inputs(session, clock.now()) == 1
        session.commit()
    assert [(kind, subject, change["receipts"]) for kind, subject, change in _erasures(app)] \
        == [("receipt", read["receipt_id"], 1), ("receipts", "expired", 1)]
    # an outcome still comes for a receipt whose inputs are gone: the record stays
    ok(api.post(f"/api/v1/receipts/{swept['receipt_id']}/outcome", as_="app",
                json={"outcome": "overridden", "reason": "moved"}))
