"""Encryption at rest for what was stored before it was on (`gatehouse keys encrypt-existing`),
for a dataset reclassified as personal data, and the rotation of the data key
(`gatehouse keys rotate-data`): everything stays readable, and no file under the data folder
holds the plaintext of people's data, drift reports included."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from flask import Flask
from sqlalchemy import JSON, column, select, table, text, update

from registry.platform import sealing
from registry.platform.sealing import Keyring
from registry.records import LedgerEntry

from . import builders as b
from .chain import build_chain, case, ok
from .conftest import Api
from .test_encryption import SCORE, own_keyring, stored_files

RECEIPTS = table("score_receipts", column("id"), column("inputs", JSON),
                 column("explanation", JSON))  # the columns as stored, not through Sealed


def _cli(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _relative(app: Flask, path: Path) -> str:
    return str(path.relative_to(Path(app.config["DATA_DIR"])))


def _plaintext(data: bytes) -> bytes:
    """What a reader of the disk sees: gzip opened, as an attacker would."""
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def test_a_dataset_reclassified_as_personal_is_sealed_and_never_unsealed(
        app: Flask, api: Api) -> None:
    dataset = ok(api.post("/api/v1/datasets",
                          json=b.dataset("reclassified", classification="non_personal")), 201)
    data = b.credit_csv(b.training_frame())
    ok(b.upload_csv(api, dataset["id"], data))
    [path] = [p for p in stored_files(app) if f"datasets/{dataset['id']}/" in str(p)]
    assert path.read_bytes() == data
    store = app.extensions["gatehouse"].store
    url = f"/api/v1/datasets/{dataset['id']}"
    ok(api.patch(url, json={"classification": "special_category"}))
    assert path.read_bytes().startswith(sealing.MAGIC) and b"radio/television" not in \
        path.read_bytes()
    assert store.read(_relative(app, path)) == data
    ok(api.patch(url, json={"classification": "non_personal"}))  # down: it stays sealed
    assert path.read_bytes().startswith(sealing.MAGIC)
    assert store.read(_relative(app, path)) == data


def test_encrypt_existing_seals_what_was_stored_before_and_can_run_again(
        app: Flask, api: Api, tmp_path: Path) -> None:
    chain = build_chain(api)
    own_keyring(app, tmp_path)
    store = app.extensions["gatehouse"].store
    score_url = f"/api/v1/models/{chain.model}/score"
    receipts = [ok(api.post(score_url, as_="app", json={**SCORE, "features": case(i % 2)})
                   )["results"][0]["receipt_id"] for i in range(4)]
    job = ok(api.post(f"{chain.version_url}/drift-checks", json={"limit": 4}), 202)
    assert ok(api.get(f"/api/v1/jobs/{job['id']}"))["state"] == "succeeded"
    waiting = "batches/1/" + "a" * 64  # a drift batch uploaded, its check not yet run
    store.write(waiting, b.credit_csv(b.training_frame().head(20)), seal=True)

    # As they were before encryption at rest: every file and receipt column in plaintext.
    personal = [p for p in stored_files(app) if {"datasets", "monitors", "reports", "batches"}
                & set(p.parts) and p.read_bytes().startswith(sealing.MAGIC)]
    assert {"datasets", "monitors", "reports", "batches"} <= {p.parts[-3] for p in personal}
    for path in personal:
        store.write(_relative(app, path), store.read(_relative(app, path)))
    engine = app.extensions["gatehouse"].engine
    with engine.begin() as conn:
        conn.execute(update(RECEIPTS).where(RECEIPTS.c.id == receipts[0])
                     .values(inputs=case(0), explanation={"contributions": [1169]}))
    rows = b.credit_csv(b.training_frame()).decode().splitlines()[1:6]
    assert any(rows[0].encode() in p.read_bytes() for p in personal)  # the test can fail

    output = _cli(app, "keys", "encrypt-existing")
    assert "receipt inputs: 1 sealed now, 3 already sealed" in output
    assert "receipt explanations: 1 sealed now, 3 already sealed" in output
    assert "drift batches: 1 sealed now" in output and "drift reports: 1 sealed now" in output
    assert f"{len(personal) + 2} sealed in all" in output
    for path in personal:
        assert path.read_bytes().startswith(sealing.MAGIC), path
        assert not any(row.encode() in _plaintext(path.read_bytes()) for row in rows)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT inputs, explanation FROM score_receipts "
                                   "WHERE id = :id"), {"id": receipts[0]}).one()
    assert all(sealing.TEXT_PREFIX in value and "radio" not in value for value in stored)
    assert ok(api.get(f"/api/v1/receipts/{receipts[0]}", as_="dee"))["inputs"] == case(0)
    job = ok(api.post(f"{chain.version_url}/bias-audits",
                      json={"dataset_id": chain.evaluation}), 202)
    assert ok(api.get(f"/api/v1/jobs/{job['id']}"))["state"] == "succeeded"

    again = _cli(app, "keys", "encrypt-existing")  # idempotent: nothing left to seal
    assert "0 sealed in all" in again and "dataset files: 0 sealed now" in again
    with app.extensions["gatehouse"].sessions() as session:
        entries = session.scalars(select(LedgerEntry).where(
            LedgerEntry.action == "encrypt_existing")).all()
    assert len(entries) == 1 and entries[0].change["sealed"]["receipt inputs"] == 1
    assert ok(api.get("/api/v1/ledger/verify?full=1", as_="audrey"))["ok"]


def test_no_file_under_the_data_folder_holds_an_uploaded_csvs_values(
        app: Flask, api: Api) -> None:
    """The uploaded CSV's distinctive values (whole rows, and the amounts and ages of the
    people scored), looked for in every file under the data folder, gzip opened: the drift
    report repeats them, sealed."""
    chain = build_chain(api)
    score_url = f"/api/v1/models/{chain.model}/score"
    for i in range(4):
        ok(api.post(score_url, as_="app", json={**SCORE, "features": case(i % 2)}))
    job = ok(api.post(f"{chain.version_url}/drift-checks", json={"limit": 4}), 202)
    assert ok(api.get(f"/api/v1/jobs/{job['id']}"))["state"] == "succeeded"
    store = app.extensions["gatehouse"].store
    [report] = [p for p in stored_files(app) if "reports" in p.parts]
    opened = gzip.decompress(store.read(_relative(app, report))).decode()
    rows = b.credit_csv(b.training_frame()).decode().splitlines()[1:6]
    distinctive = [r.encode() for r in rows] + [
        json.dumps(v).encode() for v in ("radio/television", "critical account/ other credits "
                                         "existing (not at this bank)")]
    repeated = [d for d in distinctive if d.decode().strip('"') in opened]
    assert repeated, "the report repeats none of the values: this test would prove nothing"
    for path in stored_files(app):
        data = path.read_bytes()
        if "artefacts" in path.parts:  # a model, not people's data
            continue
        assert not any(d in _plaintext(data) for d in distinctive), path


def test_rotating_the_data_key_keeps_everything_readable(app: Flask, api: Api,
                                                          tmp_path: Path) -> None:
    keyring = own_keyring(app, tmp_path)
    other = Keyring(keyring.master_path, keyring.keys_path, may_create=False)  # another process
    before = keyring.current_key_id()
    old = other.seal(b"Ms Jane Example", b"ctx")
    dataset = ok(api.post("/api/v1/datasets", json=b.dataset("rotated-data")), 201)
    data = b.credit_csv(b.training_frame())
    ok(b.upload_csv(api, dataset["id"], data))

    output = _cli(app, "keys", "rotate-data")
    after = keyring.current_key_id()
    assert after != before and f"data key {after} seals new writes" in output
    assert f"{before} kept for reading" in output
    new = other.seal(b"Ms Jane Example", b"ctx")  # the other process picked the new key up
    assert new[len(sealing.MAGIC):len(sealing.MAGIC) + 16].decode() == after
    assert old[len(sealing.MAGIC):len(sealing.MAGIC) + 16].decode() == before
    fresh = Keyring(keyring.master_path, keyring.keys_path, may_create=False)
    assert fresh.open(old, b"ctx") == fresh.open(new, b"ctx") == b"Ms Jane Example"
    store = app.extensions["gatehouse"].store
    [path] = [p for p in stored_files(app) if f"datasets/{dataset['id']}/" in str(p)]
    assert store.read(_relative(app, path)) == data  # sealed under the old key
    second = ok(api.post("/api/v1/datasets", json=b.dataset("rotated-data-2")), 201)
    ok(b.upload_csv(api, second["id"], data))
    [path] = [p for p in stored_files(app) if f"datasets/{second['id']}/" in str(p)]
    assert path.read_bytes()[len(sealing.MAGIC):len(sealing.MAGIC) + 16].decode() == after
    assert store.read(_relative(app, path)) == data
    _cli(app, "keys", "rotate-master")  # a master rotation after it: still all readable
    fresh = Keyring(keyring.master_path, keyring.keys_path, may_create=False)
    assert fresh.open(old, b"ctx") == fresh.open(new, b"ctx") == b"Ms Jane Example"
    with app.extensions["gatehouse"].sessions() as session:
        entry, master = (session.scalars(select(LedgerEntry).where(
            LedgerEntry.action == action)).one()
            for action in ("rotate_data_key", "rotate_master_key"))
    assert entry.change["data_key"] == after and entry.change["previous"] == before
    assert master.change["master_key"] == keyring.master_key_id()
