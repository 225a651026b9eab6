"""Benchmark: a batch of rows in one request against one-row requests, and bytes per receipt.

    .venv/bin/python benchmarks/bench_batch.py [--batch 1000] [--requests 300] [--rounds 3]
        [--workers 1] [--database-url URL]

Builds the test suite's approved chain (as benchmarks/bench_scoring.py does: german_credit, a
GradientBoostingClassifier pipeline, 20 features) with the policy's ``max_batch`` raised to
``--batch``, starts ``gunicorn wsgi:app`` and, from one client on a keep-alive connection,
alternates rounds of

- ``--requests`` one-row score requests (explanation, receipt), each a different applicant;
- three requests of ``--batch`` rows each (the same applicants as the one-row requests, cycled);

and prints both in rows per second, per round and as medians, and their ratio (target ≥ 10).
One client for both, so both use one worker at a time: the ratio is what batching saves, not
what more cores give.

Then bytes per receipt, from the receipts it stored: the row without its inputs and with them
(the inputs are kept for the policy's retention time, then erased), the table's size on disk
(SQLite: pages of the file; PostgreSQL: ``pg_total_relation_size``, indexes included) divided
by the receipts, and the explanation as the compact form stores it against the full explanation
sealed as it was stored before. Prints the machine's load average before and after.

SQLite (a temporary file) by default; ``--database-url`` (or ``GATEHOUSE_BENCH_DATABASE_URL``)
names a throwaway PostgreSQL database instead: its tables are dropped and recreated.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_scoring import PURPOSE, build, cases, environment  # noqa: E402
from benchmarks.receipt_size import receipt_bytes  # noqa: E402
from benchmarks.scoring_server import Server, calibration_ms  # noqa: E402

WARM_BATCHES = 3


class Client:
    """One keep-alive connection sending pre-encoded score requests."""

    def __init__(self, port: int, path: str, token: str) -> None:
        self.path = path
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def send(self, body: bytes) -> bytes:
        self.connection.request("POST", self.path, body=body, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {data[:300]!r}")
        return data

    def rows_per_second(self, bodies: list[bytes], rows_each: int) -> float:
        start = time.perf_counter()
        for body in bodies:
            self.send(body)
        return len(bodies) * rows_each / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("GATEHOUSE_BENCH_DATABASE_URL"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-batch-"))
    database_url = args.database_url or f"sqlite:///{work / 'bench.sqlite3'}"
    env = environment(database_url, work)
    env["GATEHOUSE_INSTANCE_PATH"] = str(work / "instance")
    policy = Path(env["GATEHOUSE_POLICY_DIR"]) / "test.toml"
    policy.write_text(policy.read_text().replace("max_batch = 100",
                                                 f"max_batch = {args.batch}"))
    os.environ.update(env)  # the receipts are sealed under this instance's keys
    load_before = os.getloadavg()
    model, token = build(env)
    print(f"chain built on {database_url.split(':', 1)[0]}; load average "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, {os.cpu_count()} CPUs")

    server = Server(env, args.workers, configured=False, threads=1)  # gthread, one thread
    try:
        client = Client(server.port, f"/api/v1/models/{model}/score", token)
        rows = cases(args.batch)
        one = [json.dumps({"purpose": PURPOSE, "features": r}).encode()
               for r in rows[:args.requests]]
        batch = json.dumps({"purpose": PURPOSE, "instances": rows}).encode()
        # Every worker warms up: the first two or three batches after a start pay once for what
        # later ones reuse (the SQLite file's first growth and checkpoints, the allocator's
        # first large blocks): the second took ~235 ms where later ones took ~105-115 ms.
        for _ in range(max(1, args.workers)):
            for _ in range(WARM_BATCHES):
                client.send(batch)
            client.rows_per_second(one[:20], 1)
        print(f"gunicorn -w {args.workers} gthread; one client; score + explanation + receipt")
        singles, batches = [], []
        for r in range(args.rounds):
            machine = calibration_ms()
            singles.append(client.rows_per_second(one, 1))
            batches.append(client.rows_per_second([batch] * 3, args.batch))
            print(f"  round {r + 1}: one-row requests {singles[-1]:7.1f} rows/s   "
                  f"{args.batch} rows a request {batches[-1]:7.1f} rows/s   "
                  f"ratio x{batches[-1] / singles[-1]:.2f}   machine check {machine:.1f} ms")
        single, many = statistics.median(singles), statistics.median(batches)
        ratio = statistics.median(b / s for b, s in zip(batches, singles, strict=True))
        print(f"  median: one-row {single:.1f} rows/s ({1000 / single:.2f} ms a request), "
              f"batch {many:.1f} rows/s ({1000 / many:.3f} ms a row): ratio of the medians "
              f"x{many / single:.2f}, median of the rounds' ratios x{ratio:.2f} (target x10)")
        client.connection.close()
    finally:
        server.stop()

    size = receipt_bytes(database_url)
    sent = (args.workers * (WARM_BATCHES * args.batch + 20)
            + args.rounds * (args.requests + 3 * args.batch))
    print(f"receipts: {size['count']:.0f} stored ({sent} cases sent)"
          + ("" if size["count"] == sent else "  <-- MISMATCH"))
    print(f"  bytes a receipt: row {size['row']:.0f} without its inputs (target <= 1024), "
          f"{size['row'] + size['inputs']:.0f} with them; on disk {size['disk']:.0f} "
          "(table and indexes, inputs kept)")
    print(f"  explanation as stored: {size['explanation']:.0f} bytes compact, "
          f"{size['old_explanation']:.0f} in the full form stored before "
          f"(x{size['old_explanation'] / size['explanation']:.1f})")
    print(f"load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.database_url:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
