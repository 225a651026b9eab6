"""Benchmark: uploading a 100 MB dataset, encrypted at rest (personal) vs not (non-personal).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_encrypted_upload.py [--megabytes 100]
        [--rounds 2]

Makes a CSV of german_credit rows repeated to --megabytes, two datasets with the same declared
columns (one classified personal, so stored sealed with AES-GCM; one non-personal, stored as it
came), and uploads the CSV to each in turn through ``app.test_client()``
(``PUT /api/v1/datasets/<id>/data``: checked against the schema, profiled, stored). Prints each
upload's time, the medians, their ratio (target ≤ 1.1) and the load average.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def big_csv(megabytes: int) -> bytes:
    import tests.builders as b

    one = b.credit_csv()
    header, body = one.split(b"\n", 1)
    copies = max(1, megabytes * 1024 * 1024 // len(body))
    return header + b"\n" + body * copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    from sqlalchemy import create_engine

    import tests.builders as b
    from benchmarks.bench_scoring import policy_dir
    from registry.app import create_app
    from registry.records import Base
    from tests.conftest import Api, make_people

    url = f"sqlite:///{work / 'bench.sqlite3'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app({"INSTANCE_PATH": str(work / "instance"), "DATABASE_URL": url,
                      "DATA_DIR": str(work / "data"), "POLICY_DIR": str(policy_dir(work / "p")),
                      "POLICY": "test", "SECRET_KEY": "bench", "JOB_WORKERS": 0,
                      "MAX_CONTENT_LENGTH": (args.megabytes + 10) * 1024 * 1024})
    api = Api(app.test_client(), make_people(app.extensions["gatehouse"]))
    data = big_csv(args.megabytes)
    rows = data.count(b"\n") - 1
    print(f"CSV: {len(data) / 1e6:.1f} MB, {rows} rows")
    ids: dict[bool, int] = {}
    for sealed in (True, False):
        name, classification = ("bench-sealed", "personal") if sealed else ("bench-plain",
                                                                            "non_personal")
        status, body = api.post("/api/v1/datasets",
                                json=b.dataset(name, classification=classification))
        assert status == 201, body
        ids[sealed] = body["id"]
    times: dict[bool, list[float]] = {True: [], False: []}
    for round_ in range(args.rounds):
        for sealed in (round_ % 2 == 0, round_ % 2 == 1):
            start = time.perf_counter()
            status, body = upload(api, ids[sealed], data)
            elapsed = time.perf_counter() - start
            assert status == 200, body
            times[sealed].append(elapsed)
            print(f"round {round_ + 1} {'encrypted' if sealed else 'plain    '} "
                  f"{elapsed:6.2f} s   load {os.getloadavg()}")
    stored = list((work / "data").rglob("*.csv"))
    assert any(p.read_bytes()[:1] == b"\x00" for p in stored), "nothing was stored sealed"
    enc, plain = statistics.median(times[True]), statistics.median(times[False])
    print(f"\nmedian: encrypted {enc:.2f} s, plain {plain:.2f} s, ratio {enc / plain:.3f} "
          "(target <= 1.1)")
    print(f"load average {os.getloadavg()}")
    app.extensions["gatehouse"].engine.dispose()


def upload(api: Any, dataset_id: int, data: bytes) -> tuple[int, Any]:
    return api.put(f"/api/v1/datasets/{dataset_id}/data", as_="sam",
                   data={"file": (io.BytesIO(data), "data.csv")},
                   content_type="multipart/form-data")


if __name__ == "__main__":
    main()
