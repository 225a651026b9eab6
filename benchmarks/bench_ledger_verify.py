"""Benchmark: `gatehouse ledger verify` of a large ledger, full vs incremental.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_ledger_verify.py [--entries 100000]
        [--database-url URL]

`--entries 1000000` is the issue's figure (several minutes to build and walk on SQLite). Builds
a ledger of that many entries on a temporary SQLite database (or an empty database you name),
chained and hashed exactly as appends make them, with a signed checkpoint every
`checkpoint_every_entries` (the default policy's 100) and a signed head: written in bulk, as
appending them one by one would take as long as the benchmark. Then it times:

- full: every entry walked and re-hashed, every checkpoint's signature checked;
- incremental: after a few more entries are appended (for real), from the last checkpoint the
  previous verification found good — what `gatehouse ledger verify` does without `--full`.

Prints both times, their ratio and the load average. Both must find the ledger intact.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHUNK = 10_000


def build(app: Any, entries: int) -> None:
    """`entries` ledger entries, a checkpoint every policy interval and the signed head, in
    bulk inserts of CHUNK rows."""
    from sqlalchemy import insert

    from registry.governance import ledger
    from registry.governance.checkpoints import checkpoint_message, head_message, seq_message
    from registry.platform.keys import raw_public
    from registry.records import LedgerCheckpoint, LedgerEntry, LedgerHead, SigningKey

    services = app.extensions["gatehouse"]
    every = services.policy.checkpoint_every_entries
    start = datetime(2026, 1, 1, tzinfo=UTC)
    key, key_id = services.keys.current(start)
    prev, number, rows, marks = ledger.GENESIS, 0, [], []
    with services.sessions() as session:
        session.add(SigningKey(key_id=key_id, algorithm="Ed25519",
                               public_key=raw_public(key.public_key()).hex(), created_at=start))
        for seq in range(1, entries + 1):
            change = {"i": seq, "field": "value"}
            entry = LedgerEntry(seq=seq, at=start + timedelta(seconds=seq), actor="user:1:bench",
                                action="update", subject_kind="dataset",
                                subject_id=str(seq % 500), change=change,
                                change_hash=ledger.sha256(change), prev_hash=prev,
                                organisation_id=None)
            entry.entry_hash = prev = ledger._entry_hash(entry)
            rows.append({c: getattr(entry, c) for c in (
                "seq", "at", "actor", "action", "subject_kind", "subject_id", "change",
                "change_hash", "prev_hash", "entry_hash", "organisation_id")})
            if seq == 1 or seq % every == 0:
                number += 1
                at = entry.at.replace(microsecond=0)
                marks.append({"number": number, "seq": seq, "entry_hash": prev, "created_at": at,
                              "key_id": key_id, "signature": key.sign(
                                  checkpoint_message(number, seq, prev, at)).hex()})
            if len(rows) == CHUNK or seq == entries:
                session.execute(insert(LedgerEntry), rows)
                rows = []
                if marks:
                    session.execute(insert(LedgerCheckpoint), marks)
                    last_mark, marks = marks[-1], []
                session.commit()
                print(f"  {seq} entries written", end="\r", flush=True)
        session.add(LedgerHead(
            id=1, seq=entries, entry_hash=prev, checkpoint=number,
            checkpoint_seq=last_mark["seq"], checkpoint_at=last_mark["created_at"],
            key_id=key_id, signature=key.sign(head_message(entries, prev, number)).hex(),
            seq_signature=key.sign(seq_message(entries)).hex()))
        session.commit()
    print()


def verify(app: Any, full: bool) -> tuple[float, Any]:
    from registry.governance import ledger_check

    services = app.extensions["gatehouse"]
    begin = time.perf_counter()
    with services.sessions() as session:
        result = ledger_check.check(session, services.keys, services.marks,
                                    app.config["DATABASE_URL"], full=full)
    elapsed = time.perf_counter() - begin
    assert result.ok, [f.as_dict() for f in result.findings]
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database-url", default=None,
                        help="an empty database to build in (default: a temporary SQLite file)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    from sqlalchemy import create_engine

    from benchmarks.bench_scoring import policy_dir
    from registry.app import create_app
    from registry.governance import ledger
    from registry.governance.actors import OPERATOR
    from registry.records import Base

    url = args.database_url or f"sqlite:///{work / 'bench.sqlite3'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app({"INSTANCE_PATH": str(work / "instance"), "DATABASE_URL": url,
                      "DATA_DIR": str(work / "data"), "POLICY_DIR": str(policy_dir(work / "p")),
                      "POLICY": "default", "SECRET_KEY": "bench", "JOB_WORKERS": 0},
                     routes=False)
    begin = time.perf_counter()
    build(app, args.entries)
    print(f"built {args.entries} entries in {time.perf_counter() - begin:.1f} s")

    full, result = verify(app, full=True)
    print(f"full:        {full:8.2f} s  ({result.entries} entries, {result.checkpoints} "
          f"checkpoints, walked from entry {result.walked_from})   load {os.getloadavg()}")
    services = app.extensions["gatehouse"]
    with services.sessions() as session:  # a few appends since, as a working day adds
        for i in range(10):
            ledger.append(session, OPERATOR, "note", "bench", i, {"i": i}, services.clock.now())
        session.commit()
    incremental, result = verify(app, full=False)
    print(f"incremental: {incremental:8.2f} s  (walked from entry {result.walked_from})   "
          f"load {os.getloadavg()}")
    print(f"\nfull {full:.2f} s, incremental {incremental:.3f} s: incremental is "
          f"{full / incremental:.0f}x faster")
    print(f"load average {os.getloadavg()}")
    app.extensions["gatehouse"].engine.dispose()


if __name__ == "__main__":
    main()
