"""Batches are scored as the rows would be alone, bit for bit; receipts are stored compact, at
most 1 KB, and read back with the very explanation the score gave; old-form receipts still read."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, text

from registry.analysis.statements import ERASED
from registry.platform import db, sealing
from registry.records import ScoreReceipt
from registry.serving import compact

from .chain import build_chain, case
from .conftest import Api

SCORE = {"purpose": "credit_risk_research"}
N = 12
SCHEMA = [
    {"name": "age", "type": "integer", "description": "Age in years."},
    {"name": "housing", "type": "category", "allowed": ["own", "rent", "free"]},
    {"name": "note", "type": "category"},
    {"name": "owner", "type": "boolean"},
]


def _without_receipt(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("receipt_id", "verify_code")}


def _stored_bytes(app, receipt_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Per receipt, the bytes its row holds in the database: (without inputs, inputs)."""
    engine = app.extensions["gatehouse"].engine
    ids = {f"i{k}": r for k, r in enumerate(receipt_ids)}
    where = f"id IN ({', '.join(':' + k for k in ids)})"
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = ("SELECT id, pg_column_size(s.*) - coalesce(pg_column_size(inputs), 0), "
                     f"coalesce(pg_column_size(inputs), 0) FROM score_receipts s WHERE {where}")
        else:
            columns = [c.name for c in ScoreReceipt.__table__.columns if c.name != "inputs"]
            total = " + ".join(f"coalesce(length(CAST({c} AS BLOB)), 0)" for c in columns)
            query = (f"SELECT id, {total}, coalesce(length(CAST(inputs AS BLOB)), 0) "
                     f"FROM score_receipts WHERE {where}")
        return {row[0]: (row[1], row[2]) for row in connection.execute(text(query), ids)}


def test_a_batch_equals_its_rows_alone_and_receipts_read_back_exactly(app, api: Api) -> None:
    chain = build_chain(api)
    url = f"/api/v1/models/{chain.model}/score"
    rows = [case(i) for i in range(N)]
    inserts: list[tuple[str, int]] = []

    def driver(_raw, statement: str, rows: int) -> None:  # sent straight to the driver
        if statement.lstrip().upper().startswith("INSERT INTO SCORE_RECEIPTS"):
            inserts.append((statement, rows))

    def engine_sent(conn, cursor, statement, parameters, context, executemany) -> None:
        driver(None, statement, len(parameters) if executemany else 1)

    engine = app.extensions["gatehouse"].engine
    db.observers.append(driver)
    event.listen(engine, "before_cursor_execute", engine_sent)
    try:
        status, batch = api.post(url, as_="app", json={**SCORE, "instances": rows})
    finally:
        db.observers.remove(driver)
        event.remove(engine, "before_cursor_execute", engine_sent)
    assert status == 200, batch
    # the batch's receipts: one INSERT, prepared once and run for every row (executemany)
    assert [count for _, count in inserts] == [N], inserts
    alone = []
    for row in rows:
        status, body = api.post(url, as_="app", json={**SCORE, "features": row})
        assert status == 200, body
        alone.append(body["results"][0])
    # Bit for bit: JSON carries every float exactly (shortest repr), so equal JSON is equal bits.
    assert [_without_receipt(r) for r in batch["results"]] == [_without_receipt(r) for r in alone]
    assert len({r["receipt_id"] for r in batch["results"] + alone}) == 2 * N

    results = batch["results"] + alone
    for result in results:
        status, got = api.get(f"/api/v1/receipts/{result['receipt_id']}", as_="app")
        assert status == 200, got
        assert json.dumps(got["explanation"], sort_keys=True) == json.dumps(
            result["explanation"], sort_keys=True)
        assert got["score"] == result["score"] and got["band"] == result["band"]

    # Stored compact: no statement, no feature name, no notice in the row; at most 1 KB a
    # receipt without the inputs (kept for their retention time only).
    sizes = _stored_bytes(app, [r["receipt_id"] for r in results])
    assert len(sizes) == 2 * N
    assert max(size for size, _ in sizes.values()) <= 1024, sizes
    assert all(inputs > 0 for _, inputs in sizes.values())  # the test policy keeps inputs
    with app.extensions["gatehouse"].sessions() as session:
        stored = session.get(ScoreReceipt, results[0]["receipt_id"]).explanation
    assert stored["v"] == compact.FORM and "statement" not in json.dumps(stored)


def test_an_old_form_receipt_reads_as_it_was_stored(app, api: Api) -> None:
    chain = build_chain(api)
    status, body = api.post(f"/api/v1/models/{chain.model}/score", as_="app",
                            json={**SCORE, "features": case(0)})
    assert status == 200, body
    result = body["results"][0]
    old = {"base_value": result["explanation"]["base_value"], "scale": "probability",
           "contributions": result["explanation"]["contributions"]}
    with app.extensions["gatehouse"].engine.begin() as connection:
        connection.execute(
            text("UPDATE score_receipts SET explanation = :e WHERE id = :id"),
            {"e": json.dumps(sealing.seal_json(old, "score_receipts.explanation")),
             "id": result["receipt_id"]})
    status, got = api.get(f"/api/v1/receipts/{result['receipt_id']}", as_="app")
    assert status == 200 and got["explanation"] == old


@pytest.mark.parametrize("scale", ["probability", "log-odds"])
def test_the_compact_form_round_trips_values_categories_and_the_explained_value(scale) -> None:
    row = {"age": 41.0, "housing": "rent", "note": "free text", "owner": None}
    contributions = [0.1 + 0.2, -1e-17, 0.0049999, -0.3333333333333333]
    explained = 0.7310585786300049 if scale == "log-odds" else 0.62
    packed = compact.pack(0.25, contributions, scale, explained, 0.62)
    assert "x" not in packed  # the values are the inputs', not kept twice
    stored = json.loads(json.dumps(packed))
    got = compact.expand(stored, SCHEMA, 0.62, row)
    assert got is not None
    assert got["explained_value"] == explained and got["base_value"] == 0.25
    by_feature = {c["feature"]: c for c in got["contributions"]}
    assert [by_feature[f["name"]]["contribution"] for f in SCHEMA] == contributions
    assert [by_feature[f["name"]]["value"] for f in SCHEMA] == list(row.values())
    assert by_feature["age"]["statement"].startswith("Age 41 raised the score by ")
    assert [c["feature"] for c in got["contributions"]] == ["owner", "age", "note", "housing"]
    assert ("log-odds" in got["notice"]) == (scale == "log-odds")


def test_a_form_2_receipt_reads_its_values_from_the_inputs_and_never_its_copy_after() -> None:
    row = {"age": 41.0, "housing": "rent", "note": "free text", "owner": None}
    stored = {**compact.pack(0.25, [0.1, 0.2, 0.3, 0.4], "probability", 0.62, 0.62), "v": 2,
              "x": [41.0, 1, "free text", None]}  # the copy form 2 kept
    kept = compact.expand(stored, SCHEMA, 0.62, row)
    assert kept == compact.expand({**stored, "v": 3}, SCHEMA, 0.62, row)
    erased = compact.expand(stored, SCHEMA, 0.62, None)
    assert erased is not None
    assert {c["value"] for c in erased["contributions"]} == {None}
    assert all(ERASED in c["statement"] and "41" not in c["statement"]
               for c in erased["contributions"])
    assert [c["contribution"] for c in erased["contributions"]] == [
        c["contribution"] for c in kept["contributions"]]
