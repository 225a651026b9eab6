"""Encryption at rest: personal datasets, drift references and batches, and the inputs and
explanations of score receipts are stored sealed (AES-GCM); everything still works on them, and
a rotation of the master key keeps everything readable."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from registry.platform import sealing
from registry.platform.sealing import Keyring, Unreadable
from registry.platform.storage import FileStore

from . import builders as b
from .chain import build_chain, case, ok
from .conftest import Api

SCORE = {"purpose": "credit_risk_research"}


def stored_files(app: Flask) -> list[Path]:
    root = Path(app.config["DATA_DIR"])
    return [p for p in root.rglob("*") if p.is_file()]


def own_keyring(app: Flask, tmp_path: Path) -> Keyring:
    """A copy of the session's keys for this test alone, installed, its file store using it."""
    services = app.extensions["gatehouse"]
    shared = services.store.keyring
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    for path in (shared.master_path, shared.keys_path):
        shutil.copy2(path, folder / path.name)
    keyring = Keyring(folder / shared.master_path.name, folder / shared.keys_path.name, True)
    sealing.install(keyring)
    services.store = FileStore(services.store.root, keyring)
    return keyring


def test_a_keyring_seals_opens_and_refuses_what_was_altered_or_moved(tmp_path: Path) -> None:
    keyring = Keyring(tmp_path / "master_key", tmp_path / "data_keys.json", may_create=True)
    blob = keyring.seal(b"Ms Jane Example, 12 Acacia Avenue", b"datasets/1/a.csv")
    assert b"Acacia" not in blob and keyring.open(blob, b"datasets/1/a.csv").startswith(b"Ms")
    with pytest.raises(Unreadable):
        keyring.open(blob, b"datasets/2/a.csv")  # moved to another path
    altered = bytearray(blob)
    altered[-1] ^= 1
    with pytest.raises(Unreadable):
        keyring.open(bytes(altered), b"datasets/1/a.csv")
    for path in (tmp_path / "master_key", tmp_path / "data_keys.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    master = (tmp_path / "master_key").read_text().strip()
    assert master not in (tmp_path / "data_keys.json").read_text()
    old, new, count = keyring.rotate_master()
    assert old != new and count == 1 and keyring.master_key_id() == new
    fresh = Keyring(tmp_path / "master_key", tmp_path / "data_keys.json", may_create=True)
    assert fresh.open(blob, b"datasets/1/a.csv").startswith(b"Ms")


def test_a_named_master_key_file_must_exist(tmp_path: Path) -> None:
    keyring = sealing.default_keyring(tmp_path, str(tmp_path / "elsewhere" / "master"))
    with pytest.raises(sealing.KeyMissing):
        keyring.seal(b"x", b"y")


def test_personal_data_is_sealed_on_disk_and_in_the_database_and_still_works(
        app: Flask, api: Api, tmp_path: Path) -> None:
    chain = build_chain(api)
    keyring = own_keyring(app, tmp_path)
    rows = b.credit_csv(b.training_frame()).decode().splitlines()[1:6]
    files = stored_files(app)
    assert any("datasets" in p.parts for p in files) and any("monitors" in p.parts for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(row.encode() in data for row in rows), path
        if {"datasets", "monitors"} & set(path.parts):
            assert data.startswith(sealing.MAGIC) and b"PAR1" not in data, path
    score_url = f"/api/v1/models/{chain.model}/score"
    scored = ok(api.post(score_url, as_="app", json={**SCORE, "features": case(0)}))
    receipt = scored["results"][0]["receipt_id"]
    with app.extensions["gatehouse"].engine.connect() as connection:
        inputs, explanation = connection.execute(
            text("SELECT inputs, explanation FROM score_receipts WHERE id = :id"),
            {"id": receipt}).one()
    for stored in (inputs, explanation):
        assert sealing.TEXT_PREFIX in stored
        assert not any(name in stored for name in case(0))
    assert ok(api.get(f"/api/v1/receipts/{receipt}", as_="dee"))["inputs"] == case(0)

    # A drift check of the kept inputs, and an audit of the sealed data, still run.
    for _ in range(3):
        ok(api.post(score_url, as_="app", json={**SCORE, "features": case(1)}))
    job = ok(api.post(f"{chain.version_url}/drift-checks", json={"limit": 4}), 202)
    assert ok(api.get(f"/api/v1/jobs/{job['id']}"))["state"] == "succeeded"

    # After a rotation of the master key, a keyring read afresh from the files opens it all.
    result = app.test_cli_runner().invoke(args=["keys", "rotate-master"])
    assert result.exit_code == 0 and "data keys re-wrapped" in result.output
    assert keyring.master_key_id() in result.output
    fresh = Keyring(keyring.master_path, keyring.keys_path, may_create=False)
    sealing.install(fresh)
    app.extensions["gatehouse"].store = FileStore(Path(app.config["DATA_DIR"]), fresh)
    assert ok(api.get(f"/api/v1/receipts/{receipt}", as_="dee"))["inputs"] == case(0)
    job = ok(api.post(f"{chain.version_url}/bias-audits",
                      json={"dataset_id": chain.evaluation}), 202)
    assert ok(api.get(f"/api/v1/jobs/{job['id']}"))["state"] == "succeeded"


def test_non_personal_data_is_stored_as_it_came(app: Flask, api: Api) -> None:
    dataset = ok(api.post("/api/v1/datasets",
                          json=b.dataset("open-data", classification="non_personal")), 201)
    data = b.credit_csv(b.training_frame())
    ok(b.upload_csv(api, dataset["id"], data))
    [path] = [p for p in stored_files(app) if "datasets" in p.parts]
    assert path.read_bytes() == data
