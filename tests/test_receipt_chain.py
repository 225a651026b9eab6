"""Receipts, outcomes and reads of stored inputs are chained: receipts in RFC 6962 Merkle
batches whose roots the ledger records before a checkpoint signs them. Each receipt has a short
code a person can check on a public page, which says nothing personal; a forged code is
refused."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from registry.governance import receipt_chain
from registry.platform import merkle
from registry.records import LedgerEntry

from .chain import build_chain, case, ok
from .conftest import Api

SCORE = {"purpose": "credit_risk_research"}


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962's recursive definition, to check the bottom-up build against."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def test_merkle_trees_follow_rfc_6962() -> None:
    assert merkle.root([]).hex() == hashlib.sha256(b"").hexdigest()
    # RFC 6962's leaf prefix: the hash of the empty leaf, as Certificate Transparency logs have it
    assert merkle.leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    for size in range(1, 34):
        leaves = [merkle.leaf_hash(bytes([i])) for i in range(size)]
        root = merkle.root(leaves)
        assert root == _mth(leaves)
        for index in range(size):
            proof = merkle.inclusion_proof(leaves, index)
            assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
            assert not merkle.verify_inclusion(merkle.leaf_hash(b"x"), index, size, proof, root)
            if proof:
                assert not merkle.verify_inclusion(leaves[index], index, size, proof[:-1], root)


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def _verify(api: Api) -> set[str]:
    status, result = api.get("/api/v1/ledger/verify?full=1", as_="audrey")
    assert status == 200
    return {f["code"] for f in result["findings"]}


def _scored(api: Api, model: str, rows: int = 3) -> list[dict[str, Any]]:
    return [ok(api.post(f"/api/v1/models/{model}/score", as_="app",
                        json={**SCORE, "features": case(i)}))["results"][0] for i in range(rows)]


def _actions(app: Flask) -> list[str]:
    with app.extensions["gatehouse"].sessions() as session:
        return list(session.scalars(select(LedgerEntry.action).order_by(LedgerEntry.seq)))


def test_receipts_are_chained_in_a_merkle_batch_and_tampering_is_named(
        app: Flask, api: Api) -> None:
    chain = build_chain(api)
    results = _scored(api, chain.model)
    assert "chain_receipts" not in _actions(app)  # the scoring path adds no ledger entry
    # receipts no batch chains yet are named as what the check does not cover
    assert ok(api.get("/api/v1/ledger/verify?full=1", as_="audrey"))["receipts_unchained"] == 3
    said = _cli(app, "ledger", "verify", "--full").output
    assert "ledger intact" in said and "3 score receipts not yet chained" in said
    assert _cli(app, "ledger", "checkpoint").exit_code == 0
    assert ok(api.get("/api/v1/ledger/verify?full=1", as_="audrey"))["receipts_unchained"] == 0
    assert "not yet chained" not in _cli(app, "ledger", "verify", "--full").output
    assert _actions(app)[-1] == "chain_receipts" and _verify(api) == set()
    engine = app.extensions["gatehouse"].engine
    with engine.connect() as conn:
        batch = conn.execute(text("SELECT number, size FROM receipt_batches")).one()
    assert tuple(batch) == (1, 3)

    receipt = results[1]["receipt_id"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE score_receipts SET score = 0.99 WHERE id = :id"),
                     {"id": receipt})
    assert _verify(api) == {"receipts_altered"}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM score_receipts WHERE id = :id"), {"id": receipt})
    assert _verify(api) == {"receipts_altered"}
    with engine.begin() as conn:
        conn.execute(text("UPDATE receipt_batches SET root = :r"), {"r": "0" * 64})
    assert "receipt_batch_unrecorded" in _verify(api)


def test_outcomes_and_reads_of_stored_inputs_are_chained(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    [result] = _scored(api, chain.model, rows=1)
    receipt = result["receipt_id"]
    ok(api.get(f"/api/v1/receipts/{receipt}", as_="dee"))
    ok(api.post(f"/api/v1/receipts/{receipt}/outcome", as_="app",
                json={"outcome": "overridden", "reason": "Ms X moved house"}))
    with app.extensions["gatehouse"].sessions() as session:
        entries = session.scalars(select(LedgerEntry).where(
            LedgerEntry.subject_kind == "receipt").order_by(LedgerEntry.seq)).all()
        assert [(e.action, e.subject_id) for e in entries] == [
            ("read_inputs", receipt), ("record_outcome", receipt)]
        assert "Ms X" not in str(entries[1].change) and entries[0].actor.startswith("user:")


def test_a_receipt_code_verifies_on_a_public_page_and_a_forged_one_does_not(
        app: Flask, api: Api) -> None:
    chain = build_chain(api)
    [result] = _scored(api, chain.model, rows=1)
    code = result["verify_code"]
    assert len(code.replace("-", "")) == receipt_chain.CODE_LENGTH
    public = app.test_client()
    page = public.get(f"/verify/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and chain.model in html and "Not yet" in html
    assert _cli(app, "ledger", "checkpoint").exit_code == 0
    html = public.get(f"/verify/{code.lower()}").get_data(as_text=True)
    assert "signed in checkpoint" in html and "Approval" in html
    assert f"{result['score']}" not in html and result["receipt_id"] not in html
    assert not any(str(v) in html for k, v in case(0).items() if k != "purpose" and len(str(v)) > 3)
    forged = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert public.get(f"/verify/{forged}").status_code == 404
    assert public.get("/verify/not-a-code").status_code == 404


@pytest.mark.parametrize("typed", ["abcd-efgh-jkmn", "ABCD EFGH JKMN", "ABCDEFGHJKMN"])
def test_codes_are_read_as_people_type_them(typed: str) -> None:
    assert receipt_chain.normalise_code(typed) == "ABCDEFGHJKMN"
    assert receipt_chain.normalise_code("ABCDEFGHJKMU") is None


def test_a_receipt_read_back_carries_its_code_for_the_decision_letter(
        app: Flask, api: Api) -> None:
    chain = build_chain(api)
    [result] = _scored(api, chain.model, rows=1)
    read = ok(api.get(f"/api/v1/receipts/{result['receipt_id']}", as_="app"))
    assert read["verify_code"] == result["verify_code"]
    assert app.test_client().get(f"/verify/{read['verify_code']}").status_code == 200


def test_receipt_batches_are_verified_from_the_last_good_checkpoint_unless_full(
        app: Flask, api: Api) -> None:
    chain = build_chain(api)
    first = _scored(api, chain.model, rows=2)
    assert _cli(app, "ledger", "checkpoint").exit_code == 0
    assert _verify(api) == set()  # full, and leaves the mark at this checkpoint
    _scored(api, chain.model, rows=2)
    assert _cli(app, "ledger", "checkpoint").exit_code == 0
    engine = app.extensions["gatehouse"].engine
    with engine.begin() as conn:  # a receipt of batch 1, below the mark, edited
        conn.execute(text("UPDATE score_receipts SET score = 0.5 WHERE id = :id"),
                     {"id": first[0]["receipt_id"]})
    with app.extensions["gatehouse"].sessions() as session:
        assert receipt_chain.problems(session, from_seq=1)
        below = session.scalar(select(LedgerEntry.seq).where(
            LedgerEntry.action == "chain_receipts", LedgerEntry.subject_id == "1"))
        assert receipt_chain.problems(session, from_seq=below + 1) == []  # batch 1 not re-read
    status, result = api.get("/api/v1/ledger/verify", as_="audrey")
    assert result["ok"] and result["walked_from"] > below  # incremental: batch 2 only
    assert _verify(api) == {"receipts_altered"}  # --full recomputes every batch
    _scored(api, chain.model, rows=2)
    assert _cli(app, "ledger", "checkpoint").exit_code == 0
    with engine.begin() as conn:  # a receipt of a batch above the mark, edited
        conn.execute(text("UPDATE score_receipts SET score = 0.5 WHERE batch = 3"))
    status, result = api.get("/api/v1/ledger/verify", as_="audrey")
    assert "receipts_altered" in {f["code"] for f in result["findings"]}
