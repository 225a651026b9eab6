"""Benchmark: scoring over HTTP — 2 workers, 8 concurrent keep-alive clients, in one run.

    make bench-scoring        # or: .venv/bin/python benchmarks/bench_scoring.py [--requests 500]
        [--clients 8] [--workers 2] [--rounds 3] [--batch 100] [--database-url URL] [--profile]

Builds the test suite's approved chain (a GradientBoostingClassifier(50 trees) pipeline on
german_credit, bias-audited, drift-monitored, approved; an API client token) into a fresh
database through the API, then starts, each cold, three servers on it and keeps them up:

- **bare** gunicorn (``-w 2 --worker-class gthread --threads 1 wsgi:app``), as the project
  ran before it shipped a configuration: the baseline, measured in the same run;
- **gunicorn.conf.py** (preload, warm start, connections spread across workers);
- **MLServer + alibi TreeShap** on the same model, if its environment exists (see
  ``benchmarks/scoring_alibi.py``; skipped, saying why, otherwise).

It reports the slowest of each server's first 8 concurrent requests (every worker's first
score), then rounds of one-row score requests with explanation and receipt
(``POST /api/v1/models/<name>/score``, a different applicant each) from 8 threads each holding
an ``http.client`` keep-alive connection, alternating between the servers so that a change in
the machine's load falls on each: p50/p99 (send to last byte read) and requests/s, with their
ratios to bare gunicorn and to alibi. Then, on the configured server: one client alone, the
requests/s while a killed worker is replaced, batches (p50, p99, rows/s and the ratio to one-row
requests); the receipts stored against the cases scored and their bytes (as
``benchmarks/bench_batch.py`` measures them); and the floor in process: the sklearn
pipeline's ``predict_proba`` plus ``shap.TreeExplainer`` (interventional, probability, the same
100 background rows) summed back over one-hot columns, against Gatehouse's own Explainer.

SQLite (a temporary file) by default; ``--database-url`` (or ``GATEHOUSE_BENCH_DATABASE_URL``)
names a throwaway PostgreSQL database instead — its tables are dropped and recreated.
``--profile`` also runs 300 requests through the Flask app in this process under cProfile.

Each round of the bare server prints a "machine check": the CPU time of a fixed loop, as the
speed of a shared virtual machine drifts. Little's law: with 8 requests always outstanding,
mean latency is 8 / throughput, so at 8 clients latency mostly measures queueing.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import scoring_alibi  # noqa: E402
from benchmarks.receipt_size import receipt_bytes  # noqa: E402
from benchmarks.scoring_server import (  # noqa: E402
    Load,
    Server,
    after_kill,
    calibration_ms,
    cpu_seconds,
    line,
    summary,
)

PURPOSE = "credit_risk_research"
BATCH_REQUESTS = 50  # timed batch requests, after two to warm up


# --- the chain -----------------------------------------------------------------------------


def policy_dir(folder: Path) -> Path:
    """The shipped policies plus the tests' looser `test` policy (the german_credit model is
    biased by sex beyond the default limits)."""
    from tests.conftest import TEST_POLICY_CHANGES

    folder.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "policies").glob("*.toml"):
        shutil.copy(path, folder / path.name)
    text = (ROOT / "policies" / "default.toml").read_text()
    for old, new in TEST_POLICY_CHANGES.items():
        text = text.replace(old, new)
    (folder / "test.toml").write_text(text)
    return folder


def environment(database_url: str, work: Path) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "GATEHOUSE_DATA_DIR": str(work / "data"),
            "GATEHOUSE_POLICY_DIR": str(policy_dir(work / "policies")),
            "GATEHOUSE_POLICY": "test", "SECRET_KEY": "bench", "GATEHOUSE_JOB_WORKERS": "0"}


def build(env: dict[str, str]) -> tuple[str, str]:
    """Build the approved chain through the API; (model name, client token)."""
    from sqlalchemy import create_engine

    import tests.builders as b
    from registry.app import create_app
    from registry.governance import people
    from registry.governance.actors import OPERATOR
    from registry.records import Base
    from tests.chain import build_chain
    from tests.conftest import PEOPLE, Api

    b.TODAY = date.today()  # the builders' dates are relative to this
    engine = create_engine(env["DATABASE_URL"])
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "DATA_DIR": env["GATEHOUSE_DATA_DIR"],
                      "POLICY_DIR": env["GATEHOUSE_POLICY_DIR"], "POLICY": "test",
                      "SECRET_KEY": "bench", "JOB_WORKERS": 0})
    services = app.extensions["gatehouse"]
    tokens: dict[str, str] = {}
    with services.sessions() as session:
        org = people.ensure_organisation(session, OPERATOR, "Northmere Borough Council",
                                         services.clock.now())
        for name, roles in PEOPLE.items():
            _, tokens[name] = people.create_user(
                session, OPERATOR, {"email": f"{name}@northmere.gov.uk", "name": name.title(),
                                    "roles": roles, "organisation_id": org.id},
                services.clock.now(), password=f"{name}-correct-horse")
        session.commit()
    chain = build_chain(Api(app.test_client(), tokens))
    services.engine.dispose()
    return chain.model, chain.client_token


def cases(n: int) -> list[dict[str, Any]]:
    from tests.chain import case

    return [case(i % 1000) for i in range(n)]


# --- in process ----------------------------------------------------------------------------

def in_process(rows: list[dict[str, Any]], batch: int) -> dict[str, float]:
    """Per-row ms of sklearn + shap (baseline) and of Gatehouse's Explainer; and a batch."""
    import shap

    from registry.analysis.explain import Explainer, FeatureSpec
    from registry.analysis.models import model_frame
    from tests import builders as b
    from tests.chain import FEATURES, fitted

    warnings.filterwarnings("ignore")
    pipeline, _ = fitted("gbm")
    specs = [{"name": c, "type": "integer" if c in b.NUMERIC else "category"} for c in FEATURES]
    sample = b.credit_frame().sample(500, random_state=0)
    explainer = Explainer.build(pipeline, model_frame(sample, specs),
                                [FeatureSpec(s["name"], s["type"]) for s in specs])
    prep, model = pipeline[:-1], pipeline[-1]
    reference = shap.TreeExplainer(model, data=explainer.background_matrix,
                                   model_output="probability",
                                   feature_perturbation="interventional")
    names = [n.split("__", 1)[1] for n in prep.get_feature_names_out()]
    aggregate = np.zeros((len(names), len(FEATURES)))
    for i, n in enumerate(names):
        owner = max((f for f in FEATURES if n == f or n.startswith(f + "_")), key=len)
        aggregate[i, FEATURES.index(owner)] = 1.0

    def baseline(frame: pd.DataFrame) -> Any:
        score = pipeline.predict_proba(frame)[:, 1]
        return score, reference.shap_values(prep.transform(frame), check_additivity=False) \
            @ aggregate

    frames = [model_frame(pd.DataFrame([r]), specs) for r in rows]

    def timed(fn: Any, items: list[Any]) -> np.ndarray:
        fn(items[0])
        out = []
        for item in items:
            start = time.perf_counter()
            fn(item)
            out.append((time.perf_counter() - start) * 1000.0)
        return np.array(out)

    big = model_frame(pd.DataFrame(cases(batch)), specs)
    return {
        "baseline": float(np.median(timed(baseline, frames))),
        "explainer": float(np.median(timed(explainer.score_and_explain, rows))),
        "baseline_batch": float(np.median(timed(baseline, [big] * 10))),
        "explainer_batch": float(np.median(timed(explainer.score_and_explain,
                                                 [cases(batch)] * 10))),
    }


def profile(env: dict[str, str], model: str, token: str, n: int = 300) -> None:
    """Requests through the Flask app in this process under cProfile: where the time goes."""
    os.environ.update(env)
    from registry.app import create_app

    app = create_app()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    bodies = [{"purpose": PURPOSE, "features": c} for c in cases(n)]
    url = f"/api/v1/models/{model}/score"
    for body in bodies[:20]:  # load the model and warm the caches
        client.post(url, json=body, headers=headers)
    start, cpu = time.perf_counter(), time.process_time()
    for body in bodies:
        client.post(url, json=body, headers=headers)
    plain = (time.perf_counter() - start) / n * 1000.0
    cpu = (time.process_time() - cpu) / n * 1000.0
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for body in bodies:
        client.post(url, json=body, headers=headers)
    profiler.disable()
    print(f"\nprofile: {n} requests through app.test_client() in process (no HTTP server): "
          f"{plain:.2f} ms each ({cpu:.2f} ms CPU) without the profiler")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
        print("\n".join(line[:150] for line in out.getvalue().splitlines()[4:40]))
    app.extensions["gatehouse"].engine.dispose()


# --- main ----------------------------------------------------------------------------------

def first_requests(load: Load, bodies: list[bytes], clients: int) -> tuple[float, float]:
    """The first request after a start, alone, in ms; and the slowest of the next ``clients``
    concurrent ones (every worker's first score, where connections spread)."""
    first = load.first(bodies[0]) * 1000
    ms, _ = load.run(bodies[1:clients + 1], clients)
    return first, float(ms.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--database-url", default=os.environ.get("GATEHOUSE_BENCH_DATABASE_URL"))
    parser.add_argument("--alibi-python", default=os.environ.get("GATEHOUSE_BENCH_ALIBI_PYTHON",
                                                                 "/tmp/alibi-venv/bin/python"))
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    database_url = args.database_url or f"sqlite:///{work / 'bench.sqlite3'}"
    env = environment(database_url, work)
    started = time.perf_counter()
    model, token = build(env)
    print(f"chain built in {time.perf_counter() - started:.1f} s on "
          f"{database_url.split(':', 1)[0]}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    rows = cases(args.requests)
    bodies = [json.dumps({"purpose": PURPOSE, "features": r}).encode() for r in rows]
    path, auth = f"/api/v1/models/{model}/score", {"Authorization": f"Bearer {token}"}
    sent = 0

    # Each server starts cold, in turn: its first requests, then it stays up for the rounds.
    bare = Server(env, args.workers, configured=False)
    bare_load = Load(bare.port, path, auth)
    servers: dict[str, tuple[Server | None, Load]] = {}
    try:
        cold_first = first_requests(bare_load, bodies, args.clients)
        servers["bare"] = (bare, bare_load)
        shipped = Server(env, args.workers, configured=True)
        shipped_load = Load(shipped.port, path, auth)
        warm_first = first_requests(shipped_load, bodies, args.clients)
        servers["shipped"] = (shipped, shipped_load)
        sent += 2 * (args.clients + 1)
        payloads = {"bare": bodies, "shipped": bodies}
        alibi = scoring_alibi.start(args.alibi_python, work, rows)
        if alibi is not None:
            servers["alibi"], payloads["alibi"] = (None, alibi.load), alibi.bodies
        for name, (_, load) in servers.items():  # every worker of each warm before the rounds
            load.run(payloads[name][:64], args.clients)
        sent += 2 * 64

        print(f"\none-row score + explanation + receipt, {args.requests} different rows, "
              f"{args.clients} keep-alive clients, {args.workers} workers; rounds alternate "
              "between the servers")
        figures: dict[str, list[dict[str, float]]] = {k: [] for k in servers}
        for r in range(args.rounds):
            machine = calibration_ms()
            for name, (server, load) in servers.items():
                pid = server.process.pid if server else scoring_alibi.pid()
                cpu = cpu_seconds(pid) if pid else 0.0
                ms, wall = load.run(payloads[name], args.clients)
                figures[name].append(summary(ms, wall))
                cpu_ms = (cpu_seconds(pid) - cpu) / len(ms) * 1000 if pid else 0.0
                print(line(f"round {r + 1} {name}", figures[name][-1])
                      + (f"   server CPU {cpu_ms:.2f} ms/req" if pid else "")
                      + (f"   machine check {machine:.1f} ms" if name == "bare" else ""))
                sent += len(ms) if name != "alibi" else 0
        best = {k: min(v, key=lambda f: f["p50"]) | {"rps": max(f["rps"] for f in v)}
                for k, v in figures.items()}
        print("best of the rounds (p50, p99 of the round with the lowest p50; the highest req/s):")
        print(line("bare gunicorn (as before)", best["bare"]))
        print(line("gunicorn.conf.py", best["shipped"], best["bare"]) + "  (vs bare)")
        if "alibi" in best:
            print(line("MLServer + alibi TreeShap", best["alibi"]))
            print(line("gunicorn.conf.py", best["shipped"], best["alibi"]) + "  (vs alibi)")
        else:
            print(f"  MLServer + alibi TreeShap: skipped ({scoring_alibi.unavailable})")

        single, wall = shipped_load.run(bodies[:200], 1)
        sent += 200
        steady = float(np.median(single))
        print(f"\nfirst requests after a start: the first alone; the slowest of the next "
              f"{args.clients} at once")
        print(f"  bare gunicorn:    {cold_first[0]:8.1f} ms; {cold_first[1]:8.1f} ms "
              "(a worker loads the model on its first score)")
        print(f"  gunicorn.conf.py: {warm_first[0]:8.1f} ms; {warm_first[1]:8.1f} ms (ready "
              f"{shipped.ready_after:.1f} s after start): x{warm_first[0] / cold_first[0]:.3f} "
              f"and x{warm_first[1] / cold_first[1]:.3f} of bare")
        print(f"  one client's steady p50 on gunicorn.conf.py {steady:.2f} ms: the first alone "
              f"is x{warm_first[0] / steady:.2f} of it")
        rps = after_kill(shipped, shipped_load, bodies, args.clients)
        sent += len(bodies)
        print(f"  a worker killed (SIGKILL) under load: {rps:.1f} req/s over the next "
              f"{len(bodies)} requests, x{rps / best['shipped']['rps']:.2f} of the best round")

        batch_body = json.dumps({"purpose": PURPOSE, "instances": cases(args.batch)}).encode()
        connection = http.client.HTTPConnection("127.0.0.1", shipped.port, timeout=120)
        batch_ms = np.array([shipped_load.one(connection, batch_body)
                             for _ in range(BATCH_REQUESTS + 2)][2:]) * 1000
        connection.close()
        sent += (BATCH_REQUESTS + 2) * args.batch
        p50, p99 = np.percentile(batch_ms, [50, 99])
        per_case = float(p50) / args.batch
        print(f"  batch of {args.batch} in one request (1 client, {BATCH_REQUESTS} requests): "
              f"p50 {p50:.1f} ms  p99 {p99:.1f} ms  {1000 / per_case:.0f} rows/s, "
              f"{per_case:.2f} ms a case: x{steady / per_case:.1f} the rows/s of one client's "
              "one-row requests (benchmarks/bench_batch.py: 1,000)")
    finally:
        for server, _ in servers.values():
            if server is not None:
                server.stop()
        if "bare" not in servers:
            bare.stop()
        scoring_alibi.stop()
    size = receipt_bytes(database_url)
    print(f"  receipts stored: {size['count']:.0f} for {sent} cases scored"
          + ("" if size["count"] == sent else "  <-- MISMATCH"))
    print(f"  bytes a receipt: row {size['row']:.0f} without its inputs (target <= 1024), "
          f"{size['row'] + size['inputs']:.0f} with them; on disk {size['disk']:.0f} (table and "
          f"indexes); explanation {size['explanation']:.0f} compact, x"
          f"{size['old_explanation'] / size['explanation']:.1f} in the full form")

    local = in_process(rows[:200], args.batch)
    print("in process, one row (median of 200), the floor:")
    print(f"  sklearn predict_proba + shap TreeExplainer + sum back: {local['baseline']:.2f} ms")
    print(f"  Gatehouse Explainer.score_and_explain (fast path):     {local['explainer']:.2f} ms"
          f"  x{local['explainer'] / local['baseline']:.2f}")
    print(f"  batch of {args.batch}: baseline {local['baseline_batch']:.1f} ms, "
          f"Explainer {local['explainer_batch']:.1f} ms")
    print(f"  HTTP one client p50 / Explainer in process: x{steady / local['explainer']:.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.profile:
        profile(env, model, token)
    if not args.database_url:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
