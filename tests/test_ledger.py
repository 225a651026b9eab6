"""The hash-chained ledger: every change has its entry; any tampering is named."""

from __future__ import annotations

from sqlalchemy import text

from registry.governance import ledger
from registry.records import LedgerEntry

from . import builders as b
from .conftest import Api


def _fill(api: Api) -> None:
    _, a = api.post("/api/v1/agreements", json=b.agreement())
    api.patch(f"/api/v1/agreements/{a['id']}", json={"title": "Renamed"})
    api.post(f"/api/v1/agreements/{a['id']}/submit")
    api.post(
        f"/api/v1/agreements/{a['id']}/decisions",
        as_="olivia",
        json={"decision": "approve", "rationale": "All gates met"},
    )


def _sql(app, statement: str) -> None:
    with app.extensions["gatehouse"].engine.begin() as conn:
        conn.execute(text(statement))


def test_every_change_appends_an_entry_in_order(app, api: Api) -> None:
    _fill(api)
    status, page = api.get("/api/v1/ledger?subject_kind=agreement", as_="audrey")
    assert status == 200
    actions = [e["action"] for e in page["items"]]
    assert actions == ["create", "update", "submit", "decision:approve"]
    assert page["items"][3]["actor"].endswith("olivia@northmere.gov.uk")
    status, result = api.get("/api/v1/ledger/verify", as_="audrey")
    assert status == 200 and result["ok"] and result["entries"] >= 11


def test_an_edited_entry_is_named(app, api: Api) -> None:
    _fill(api)
    _sql(app, "UPDATE ledger_entries SET actor = 'someone-else' WHERE seq = 9")
    _, result = api.get("/api/v1/ledger/verify", as_="audrey")
    assert not result["ok"] and result["first_bad_seq"] == 9


def test_an_edited_change_is_named(app, api: Api) -> None:
    _fill(api)
    with app.extensions["gatehouse"].sessions() as session:
        entry = session.get(LedgerEntry, 10)
        entry.change = {**entry.change, "title": "Quietly different"}
        session.commit()
    _, result = api.get("/api/v1/ledger/verify", as_="audrey")
    assert not result["ok"] and result["first_bad_seq"] == 10
    assert "change" in result["problem"]


def test_a_deleted_entry_is_named(app, api: Api) -> None:
    _fill(api)
    _sql(app, "DELETE FROM ledger_entries WHERE seq = 8")
    _, result = api.get("/api/v1/ledger/verify", as_="audrey")
    assert not result["ok"] and result["first_bad_seq"] == 8


def test_a_deleted_last_entry_is_detected(app, api: Api) -> None:
    _fill(api)
    with app.extensions["gatehouse"].sessions() as session:
        last = session.scalar(text("SELECT MAX(seq) FROM ledger_entries"))
    _sql(app, f"DELETE FROM ledger_entries WHERE seq = {last}")
    _, result = api.get("/api/v1/ledger/verify", as_="audrey")
    assert not result["ok"] and result["first_bad_seq"] == last


def test_reordered_entries_are_named(app, api: Api) -> None:
    _fill(api)
    _sql(app, "UPDATE ledger_entries SET seq = -1 WHERE seq = 9")
    _sql(app, "UPDATE ledger_entries SET seq = 9 WHERE seq = 10")
    _sql(app, "UPDATE ledger_entries SET seq = 10 WHERE seq = -1")
    _, result = api.get("/api/v1/ledger/verify", as_="audrey")
    assert not result["ok"] and result["first_bad_seq"] == 9


def test_verify_without_http(app, api: Api) -> None:
    _fill(api)
    with app.extensions["gatehouse"].sessions() as session:
        assert ledger.verify(session).ok
