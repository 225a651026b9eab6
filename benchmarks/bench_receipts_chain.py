"""Benchmark: scoring throughput with receipts chained vs not, in one run, in process.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_receipts_chain.py [--requests 300] [--rounds 3]

Builds the test suite's approved chain (as benchmarks/bench_scoring.py does) on a temporary
SQLite database, then sends one-row score requests through ``app.test_client()`` in rounds that
alternate between:

- chained: every receipt gets its verification code, and at the end of the round the receipts
  are chained (their Merkle batch built and recorded in the ledger, as before a checkpoint); that
  time is counted in the round;
- unchained: no code, no batch (the receipts as they were before chaining).

Inputs and explanations are encrypted in both. Between rounds (untimed) the drift monitor
checks the receipts, as it must every 500 (set to alert on a breach, not suspend). Prints
requests/s per round, the medians, their ratio (target ≥ 0.9) and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_scoring import PURPOSE, build, cases, environment  # noqa: E402


def run_round(client: Any, url: str, headers: dict[str, str], bodies: list[dict[str, Any]],
              chained: bool, app: Any) -> float:
    from registry.governance import ledger, receipt_chain

    real = receipt_chain.new_code, receipt_chain.display_code
    if not chained:
        receipt_chain.new_code = lambda: None  # type: ignore[assignment,return-value]
        receipt_chain.display_code = lambda code: None  # type: ignore[assignment,return-value]
    try:
        start = time.perf_counter()
        for body in bodies:
            response = client.post(url, json=body, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
        if chained:
            services = app.extensions["gatehouse"]
            with services.sessions() as session:
                assert ledger.chain_receipts(session, services.clock.now())
                session.commit()
        return len(bodies) / (time.perf_counter() - start)
    finally:
        receipt_chain.new_code, receipt_chain.display_code = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-receipts-"))
    env = environment(f"sqlite:///{work / 'bench.sqlite3'}", work)
    env["GATEHOUSE_INSTANCE_PATH"] = str(work / "instance")
    os.environ.update(env)
    model, token = build(env)
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as conn:  # a breach alerts rather than suspends: scoring carries on
        conn.execute(text("UPDATE drift_monitors SET action = 'alert'"))
    engine.dispose()
    from registry.app import create_app

    app = create_app()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    bodies = [{"purpose": PURPOSE, "features": c} for c in cases(args.requests)]
    url = f"/api/v1/models/{model}/score"
    for body in bodies[:20]:  # load the model and warm the caches
        client.post(url, json=body, headers=headers)
    figures: dict[bool, list[float]] = {True: [], False: []}
    for round_ in range(args.rounds):
        for chained in (round_ % 2 == 0, round_ % 2 == 1):
            rate = run_round(client, url, headers, bodies, chained, app)
            # the drift monitor checks the receipts (untimed), else the model stops being servable
            assert app.test_cli_runner().invoke(args=["monitors", "run"]).exit_code == 0
            figures[chained].append(rate)
            print(f"round {round_ + 1} {'chained  ' if chained else 'unchained'} "
                  f"{rate:7.1f} requests/s   load {os.getloadavg()}")
    with_, without = statistics.median(figures[True]), statistics.median(figures[False])
    print(f"\nmedian: chained {with_:.1f} requests/s, unchained {without:.1f} requests/s, "
          f"ratio {with_ / without:.3f} (target >= 0.9)")
    print(f"load average {os.getloadavg()}")
    app.extensions["gatehouse"].engine.dispose()


if __name__ == "__main__":
    main()
