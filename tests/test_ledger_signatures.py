"""The signed ledger: each tampering by someone with database access (raw SQL through the
engine) is detected and named against the signatures; old keys keep verifying after a rotation;
the public checkpoints verify with `cryptography` alone; a copy kept elsewhere catches what the
database alone cannot."""

from __future__ import annotations

import base64
import itertools
import json
import stat
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from registry.governance import ledger
from registry.governance.actors import OPERATOR
from registry.governance.checkpoints import LEDGER_SIGNING, Signing
from registry.platform.clock import FrozenClock
from registry.platform.keys import KeyMissing, KeyStore
from registry.records import LedgerEntry

from . import builders as b
from .conftest import Api
from .test_ledger import _fill


def _sql(app: Flask, statement: str, **params: Any) -> None:
    with app.extensions["gatehouse"].engine.begin() as conn:
        conn.execute(text(statement), params)


def _one(app: Flask, statement: str) -> Any:
    with app.extensions["gatehouse"].engine.connect() as conn:
        return conn.execute(text(statement)).one()


def _verify(api: Api, full: bool = False) -> dict[str, Any]:
    status, result = api.get("/api/v1/ledger/verify" + ("?full=1" if full else ""), as_="audrey")
    assert status == 200
    return result


def _codes(result: dict[str, Any]) -> set[str]:
    return {f["code"] for f in result["findings"]}


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def _last(app: Flask) -> int:
    return _one(app, "SELECT MAX(seq) FROM ledger_entries")[0]


def _rewrite(app: Flask, seq: int, actor: str) -> None:
    """Edit entry `seq` and recompute every hash after it, and the head's, as an attacker who
    knows the chain rule would (reading with the ORM, writing with raw SQL)."""
    with Session(app.extensions["gatehouse"].engine) as s:
        prev = s.get(LedgerEntry, seq - 1).entry_hash if seq > 1 else ledger.GENESIS
        rows = []
        for e in s.scalars(select(LedgerEntry).where(LedgerEntry.seq >= seq)
                           .order_by(LedgerEntry.seq)).all():
            if e.seq == seq:
                e.actor = actor
            e.prev_hash = prev
            e.entry_hash = prev = ledger._entry_hash(e)
            rows.append({"seq": e.seq, "actor": e.actor, "prev": e.prev_hash,
                         "hash": e.entry_hash})
        s.rollback()
    for row in rows:
        _sql(app, "UPDATE ledger_entries SET actor = :actor, prev_hash = :prev, "
                  "entry_hash = :hash WHERE seq = :seq", **row)
    _sql(app, "UPDATE ledger_head SET entry_hash = :hash", hash=prev)


_made = itertools.count()


def _more(api: Api, n: int = 3) -> None:
    for _ in range(n):
        status, _body = api.post("/api/v1/agreements", json=b.agreement(f"DSA-X{next(_made)}"))
        assert status == 201


def test_a_clean_ledger_verifies_then_incrementally(app: Flask, api: Api) -> None:
    _fill(api)
    first = _verify(api)
    assert first["ok"] and first["findings"] == [] and first["checkpoints"] >= 1
    assert first["walked_from"] == 1
    assert _cli(app, "ledger", "checkpoint").output.startswith("checkpoint #2")
    _more(api)
    again = _verify(api)  # from the last checkpoint found good, not from the start
    assert again["ok"] and again["walked_from"] > 1 and not again["full"]
    assert _verify(api, full=True)["walked_from"] == 1
    head = _one(app, "SELECT signature, seq_signature, key_id FROM ledger_head")
    assert all(head)


def test_checkpoints_are_cut_every_n_entries_and_m_minutes(app: Flask, clock: FrozenClock
                                                           ) -> None:
    services = app.extensions["gatehouse"]
    with services.sessions(info={LEDGER_SIGNING: Signing(services.keys, 3, 60)}) as session:
        for i in range(7):
            ledger.append(session, OPERATOR, "note", "test", i, {"i": i}, clock.now())
        clock.advance(minutes=61)
        ledger.append(session, OPERATOR, "note", "test", 8, {}, clock.now())
        session.commit()
    with services.engine.connect() as conn:
        seqs = [r[0] for r in conn.execute(
            text("SELECT seq FROM ledger_checkpoints ORDER BY number"))]
    assert seqs == [1, 4, 7, 8]  # the first entry, every 3 entries, then after 61 minutes


def test_tail_cut_without_updating_the_head_is_named(app: Flask, api: Api) -> None:
    _fill(api)
    last = _last(app)
    _sql(app, "DELETE FROM ledger_entries WHERE seq > :s", s=last - 2)
    result = _verify(api)
    assert not result["ok"] and result["first_bad_seq"] == last - 1
    assert result["problem"].startswith("tail_truncated")
    out = _cli(app, "ledger", "verify")  # the command names it too, and fails
    assert out.exit_code == 1 and f"ledger broken at entry {last - 1}" in out.output
    assert "tail_truncated:" in out.output


def test_tail_cut_with_the_head_updated_is_named(app: Flask, api: Api) -> None:
    _fill(api)
    _cli(app, "ledger", "checkpoint")
    _more(api, 4)
    last = _last(app)
    for keep in (last - 2, 3):  # after the last checkpoint, then across checkpoints
        _sql(app, "DELETE FROM ledger_entries WHERE seq > :s", s=keep)
        _sql(app, "UPDATE ledger_head SET seq = :s, entry_hash = (SELECT entry_hash FROM "
                  "ledger_entries WHERE seq = :s)", s=keep)
        result = _verify(api)
        assert not result["ok"] and result["first_bad_seq"] == keep + 1, result
        assert result["problem"].startswith("tail_truncated"), result


def test_an_edit_with_the_chain_recomputed_is_named(app: Flask, api: Api) -> None:
    _fill(api)
    _cli(app, "ledger", "checkpoint")
    _more(api, 3)
    last = _last(app)
    _rewrite(app, last - 1, "someone-else")  # after the last checkpoint: the head tells
    result = _verify(api)
    assert not result["ok"] and "chain_recomputed" in _codes(result), result
    _rewrite(app, 5, "someone-else")  # below a checkpoint: the checkpoint tells
    result = _verify(api, full=True)
    assert not result["ok"] and result["problem"].startswith("chain_recomputed"), result
    assert result["first_bad_seq"] == 2  # somewhere after checkpoint #1 (entry 1)


def test_a_wiped_ledger_is_named(app: Flask, api: Api) -> None:
    _fill(api)
    _sql(app, "DELETE FROM ledger_entries")
    _sql(app, "UPDATE ledger_head SET seq = 0, entry_hash = :g", g=ledger.GENESIS)
    result = _verify(api)
    assert not result["ok"] and result["problem"].startswith("ledger_wiped"), result
    out = _cli(app, "ledger", "verify", "--full")
    assert out.exit_code == 1 and "ledger_wiped:" in out.output
    _sql(app, "DELETE FROM ledger_head")
    assert _verify(api)["problem"].startswith("ledger_wiped")


def test_a_forged_head_is_named(app: Flask, api: Api) -> None:
    _fill(api)
    last = _last(app)
    # Signed with a key of the forger's own
    forger = Ed25519PrivateKey.generate()
    _sql(app, "UPDATE ledger_head SET key_id = 'f0f0f0f0f0f0f0f0', signature = :sig",
         sig=forger.sign(b"anything").hex())
    result = _verify(api)
    assert not result["ok"] and "head_forged" in _codes(result)
    assert "not one of this register's keys" in result["problem"]
    # Pointing at an entry hash that is not in the chain, the real key id kept
    _sql(app, "UPDATE ledger_head SET key_id = (SELECT key_id FROM ledger_checkpoints "
              "WHERE number = 1), entry_hash = :h", h="ab" * 32)
    result = _verify(api)
    assert not result["ok"] and result["first_bad_seq"] == last
    assert result["problem"].startswith("head_forged")


def test_a_head_told_not_to_cut_checkpoints_is_named(app: Flask, api: Api) -> None:
    _fill(api)
    _sql(app, "UPDATE ledger_head SET checkpoint_seq = 1000000")
    result = _verify(api)
    assert not result["ok"] and _codes(result) == {"head_forged"}


def test_a_deleted_checkpoint_is_named(app: Flask, api: Api) -> None:
    _fill(api)
    for _ in range(3):
        _more(api, 1)
        _cli(app, "ledger", "checkpoint")
    _sql(app, "DELETE FROM ledger_checkpoints WHERE number = 4")  # the last: the head names it
    result = _verify(api)
    assert not result["ok"] and _codes(result) == {"checkpoint_missing"}
    assert "#4" in result["problem"]
    _sql(app, "DELETE FROM ledger_checkpoints WHERE number = 2")  # one in the middle
    assert "#2" in " ".join(f["message"] for f in _verify(api)["findings"])


def test_a_changed_checkpoint_is_named(app: Flask, api: Api) -> None:
    _fill(api)
    _sql(app, "UPDATE ledger_checkpoints SET seq = 2, entry_hash = "
              "(SELECT entry_hash FROM ledger_entries WHERE seq = 2)")
    assert "checkpoint_forged" in _codes(_verify(api))


def test_the_key_file_is_private_and_never_in_the_database(app: Flask, api: Api,
                                                          tmp_path: Path) -> None:
    keys = app.extensions["gatehouse"].keys
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in keys.path.read_text()
    result = _cli(app, "keys", "init")
    assert result.exit_code == 2 and "already exists" in result.output
    private = keys.current(app.extensions["gatehouse"].clock.now())[0]
    from cryptography.hazmat.primitives import serialization
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    with app.extensions["gatehouse"].engine.connect() as conn:
        for table in ("signing_keys", "ledger_checkpoints", "ledger_head", "ledger_entries"):
            dump = str(conn.execute(text(f"SELECT * FROM {table}")).all())
            assert raw.hex() not in dump and base64.b64encode(raw).decode() not in dump
    named = KeyStore(tmp_path / "elsewhere" / "signing.pem", may_create=False)
    try:
        named.current(app.extensions["gatehouse"].clock.now())
        raise AssertionError("a named key file that is missing must not be made")
    except KeyMissing:
        pass


def test_keys_init_makes_a_private_file(tmp_path: Path, clock: FrozenClock) -> None:
    store = KeyStore(tmp_path / "k" / "signing.pem", may_create=False)
    made = store.init(clock.now())
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.current(clock.now())[1] == made.key_id == list(store.public_keys())[0]


def _check_independently(document: dict[str, Any]) -> int:
    """What an outsider does, with `cryptography` and the README's message formats only."""
    keys = {k["key_id"]: Ed25519PublicKey.from_public_bytes(
        base64.b64decode(k["public_key_base64"])) for k in document["keys"]}
    for c in document["checkpoints"]:
        message = (f"gatehouse-ledger-checkpoint/1 {c['number']} {c['seq']} {c['entry_hash']} "
                   f"{c['created_at']}").encode()
        keys[c["key_id"]].verify(bytes.fromhex(c["signature"]), message)  # raises if not
    head = document["head"]
    keys[head["key_id"]].verify(
        bytes.fromhex(head["signature"]),
        f"gatehouse-ledger-head/1 {head['seq']} {head['entry_hash']} {head['checkpoint']}"
        .encode())
    return len(document["checkpoints"])


def test_public_checkpoints_need_no_sign_in_and_verify_with_cryptography(app: Flask, api: Api
                                                                         ) -> None:
    _fill(api)
    _cli(app, "ledger", "checkpoint")
    response = app.test_client().get("/transparency/ledger/checkpoints")
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    assert _check_independently(response.get_json()) == 2


def test_rotation_keeps_old_checkpoints_verifiable(app: Flask, api: Api) -> None:
    _fill(api)
    old = app.extensions["gatehouse"].keys.current(app.extensions["gatehouse"].clock.now())[1]
    result = _cli(app, "keys", "rotate")
    assert result.exit_code == 0 and f"{old} retired" in result.output, result.output
    _more(api, 2)
    assert _verify(api, full=True)["ok"]
    document = app.test_client().get("/transparency/ledger/checkpoints").get_json()
    assert _check_independently(document) == 2
    by_id = {k["key_id"]: k for k in document["keys"]}
    assert len(by_id) == 2 and by_id[old]["retired_at"] is not None
    assert {c["key_id"] for c in document["checkpoints"]} == set(by_id)
    assert document["head"]["key_id"] != old


def test_a_copy_kept_elsewhere_catches_a_cut_the_database_cannot_show(app: Flask, api: Api,
                                                                      tmp_path: Path) -> None:
    _fill(api)
    _cli(app, "ledger", "checkpoint")
    captured = _one(app, "SELECT seq, entry_hash, key_id, signature, seq_signature, checkpoint, "
                         "checkpoint_seq FROM ledger_head")  # an attacker reads the head early
    _more(api, 3)
    _cli(app, "ledger", "checkpoint")
    copy = tmp_path / "checkpoints.json"  # an outsider keeps a copy
    copy.write_text(app.test_client().get("/transparency/ledger/checkpoints").get_data(True))
    # Later the attacker cuts the tail and its checkpoint, and puts the old signed head back.
    _sql(app, "DELETE FROM ledger_entries WHERE seq > :s", s=captured[0])
    _sql(app, "DELETE FROM ledger_checkpoints WHERE number > :n", n=captured[5])
    _sql(app, "UPDATE ledger_head SET seq = :a, entry_hash = :b, key_id = :c, signature = :d, "
              "seq_signature = :e, checkpoint = :f, checkpoint_seq = :g",
         **dict(zip("abcdefg", captured, strict=True)))
    alone = _cli(app, "ledger", "verify")
    assert alone.exit_code == 0  # every signature in the database is genuine: it cannot tell
    checked = _cli(app, "ledger", "verify", "--checkpoints", str(copy))
    assert checked.exit_code == 1
    assert "tail_truncated" in checked.output and "checkpoint_missing" in checked.output
    assert json.loads(copy.read_text())["checkpoints"]  # the copy itself is untouched


def test_full_walks_below_the_last_good_checkpoint(app: Flask, api: Api) -> None:
    """The incremental walk re-reads no entry below the checkpoint it last found good (yet checks
    every checkpoint's entry hash); `full` re-reads everything."""
    _fill(api)
    _cli(app, "ledger", "checkpoint")
    _more(api, 2)
    assert _verify(api)["ok"]  # remembers checkpoint #2
    _sql(app, "UPDATE ledger_entries SET actor = 'someone-else' WHERE seq = 3")  # hashes kept
    assert _verify(api)["walked_from"] > 3
    full = _verify(api, full=True)
    assert not full["ok"] and full["first_bad_seq"] == 3 and "entry_edited" in _codes(full)
    assert _cli(app, "ledger", "verify", "--full").exit_code == 1


def test_a_doctored_copy_is_not_taken_for_genuine(app: Flask, api: Api, tmp_path: Path) -> None:
    _fill(api)
    document = app.test_client().get("/transparency/ledger/checkpoints").get_json()
    document["checkpoints"][0]["entry_hash"] = "00" * 32
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps(document))
    checked = _cli(app, "ledger", "verify", "--checkpoints", str(copy))
    assert checked.exit_code == 1 and "copy_invalid" in checked.output


def test_an_empty_ledger_publishes_no_checkpoints(app: Flask) -> None:
    document = app.test_client().get("/transparency/ledger/checkpoints").get_json()
    assert document["checkpoints"] == [] and document["head"] is None
    assert document["algorithm"] == "Ed25519"


def test_a_lost_default_key_file_becomes_a_rotation(tmp_path: Path, clock: FrozenClock) -> None:
    store = KeyStore(tmp_path / "signing.pem", may_create=True)
    first = store.current(clock.now())[1]
    store.path.unlink()
    second = store.current(clock.now())[1]
    kept = store.public_keys()
    assert first != second and set(kept) == {first, second}
    assert kept[first].retired_at is not None and kept[second].retired_at is None


def test_the_entry_hash_covers_the_organisation_and_old_entries_still_verify(
        app: Flask, api: Api) -> None:
    """Hash version 2 covers organisation_id: an entry moved to another organisation is named.
    Entries hashed the old way (version 1) still verify, but not after a version-2 entry: an
    edit cannot pass itself off as an old entry whose hash does not cover its organisation."""
    _fill(api)
    seq, org = _one(app, "SELECT seq, organisation_id FROM ledger_entries "
                         "WHERE organisation_id IS NOT NULL ORDER BY seq LIMIT 1")
    _sql(app, "UPDATE ledger_entries SET organisation_id = NULL WHERE seq = :s", s=seq)
    result = _verify(api, full=True)
    assert result["first_bad_seq"] == seq and result["problem"].startswith("entry_edited")
    _sql(app, "UPDATE ledger_entries SET organisation_id = :o WHERE seq = :s", o=org, s=seq)
    assert _verify(api, full=True)["ok"]

    services = app.extensions["gatehouse"]
    with Session(services.engine) as s:
        entries = s.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
        v1 = {e.seq: ledger._entry_hash(e, 1) for e in entries[:3]}
        s.rollback()
    # A register written before version 2: its first entries hashed the old way (the chain,
    # head and checkpoints re-made over them, as they were then), the rest the new way.
    with Session(services.engine) as s:
        prev = ledger.GENESIS
        for e in s.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)):
            e.prev_hash = prev
            e.entry_hash = prev = ledger._entry_hash(e, 1 if e.seq in v1 else 2)
        s.commit()
    with Session(services.engine) as s:
        assert ledger.walk(s).ok
        # version 1 after version 2: refused, though the hash is right for version 1
        e = s.get(LedgerEntry, 5)
        e.entry_hash = ledger._entry_hash(e, 1)
        assert ledger.hash_version(e, v2_seen=True) is None
        assert ledger.hash_version(e, v2_seen=False) == 1
        s.flush()
        prev = e.entry_hash
        for later in s.scalars(select(LedgerEntry).where(LedgerEntry.seq > 5)
                               .order_by(LedgerEntry.seq)):
            later.prev_hash = prev
            later.entry_hash = prev = ledger._entry_hash(later)
        s.flush()
        walked = ledger.walk(s)
        assert not walked.ok and walked.first_bad_seq == 5 and walked.kind == "entry_edited"
        s.rollback()


def test_a_checkpoint_forged_below_the_mark_is_named_by_the_incremental_run(
        app: Flask, api: Api) -> None:
    """The incremental run skips re-checking the signatures of checkpoints unchanged since the
    last good run (a digest in the mark, outside the database), not those of one changed."""
    _fill(api)
    _cli(app, "ledger", "checkpoint")
    _more(api, 2)
    assert _verify(api)["ok"]
    _more(api, 2)
    again = _verify(api)
    assert again["ok"] and again["walked_from"] > 1
    forger = Ed25519PrivateKey.generate()
    _sql(app, "UPDATE ledger_checkpoints SET signature = :sig WHERE number = 1",
         sig=forger.sign(b"gatehouse-ledger-checkpoint/1").hex())
    result = _verify(api)
    assert not result["ok"] and _codes(result) >= {"checkpoint_forged"}, result
    assert "#1" in " ".join(f["message"] for f in result["findings"])
