"""Benchmark: check_drift against evidently's bare Report on 100k x 20 columns.

Run with ``.venv/bin/python benchmarks/bench_drift.py``. Each measurement runs in its own
subprocess (alternating the two variants; 2 to 5 rounds, as many as fit in ~170 s), so peak
memory is that process's ``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the whole process
(interpreter, evidently, both 100k-row frames), not only the drift run.
Target: check_drift within 1.1x of the bare Report, judged on the best CPU time of the timed
run (time.process_time), with BLAS/OpenMP pinned to one thread in both variants: on a shared
2-core machine wall time swings by +-50% with other load, CPU time by a few per cent. Wall
times are printed too. Exit status 1 if the target is missed.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = 100_000
N_NUM = 10
N_CAT = 10
MIN_ROUNDS = 2
MAX_ROUNDS = 5
BUDGET_SECONDS = 170  # the whole benchmark must finish in under 3 minutes
DRIFT_SHARE = 0.3
TARGET = 1.1
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def make_data(rows: int, seed: int = 0):
    """Reference and current frames (same seed every run), a few columns shifted."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)

    def frame(shift: float):
        data: dict[str, object] = {}
        for i in range(N_NUM):
            values = rng.normal(loc=shift * (i % 3), scale=1 + i / 10, size=rows)
            data[f"num_{i}"] = values if i % 2 else np.round(values * 100).astype("int64")
        for i in range(N_CAT):
            levels = [f"level_{j}" for j in range(3 + i)]
            weights = np.arange(1, len(levels) + 1, dtype=float) ** (shift if i < 3 else 0)
            data[f"cat_{i}"] = rng.choice(levels, size=rows, p=weights / weights.sum())
        return pd.DataFrame(data)

    numerical = [f"num_{i}" for i in range(N_NUM)]
    categorical = [f"cat_{i}" for i in range(N_CAT)]
    return frame(0.0), frame(0.3), numerical, categorical


def run_report(reference, current, numerical, categorical) -> None:
    """Evidently alone: the same preset, definition and data as check_drift uses."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    report = Report([DataDriftPreset(drift_share=DRIFT_SHARE)], include_tests=True)
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    snapshot.dict()


def run_check_drift(reference, current, numerical, categorical) -> None:
    """Gatehouse's wrapper, without HTML."""
    from registry.analysis.drift import DriftRules, check_drift

    rules = DriftRules(
        method=None, column_threshold=None, drift_share=DRIFT_SHARE, html_max_bytes=0
    )
    check_drift(
        reference,
        current,
        numerical=numerical,
        categorical=categorical,
        rules=rules,
        with_html=False,
    )


VARIANTS = {"report": run_report, "check_drift": run_check_drift}


def worker(variant: str) -> None:
    """One timed run in this process; prints a JSON line."""
    import warnings

    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(ROOT))
    # Both processes import the same modules, so imports are neither timed nor in the difference.
    import evidently.presets  # noqa: F401

    import registry.analysis.drift  # noqa: F401  (pulls in the registry package: Flask etc.)

    func = VARIANTS[variant]
    reference, current, numerical, categorical = make_data(ROWS)
    func(reference.head(2_000), current.head(2_000), numerical, categorical)  # warm lazy imports
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu_start = time.perf_counter(), time.process_time()
    func(reference, current, numerical, categorical)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    row = {"seconds": seconds, "cpu": cpu, "peak_mib": peak / 1024, "before_mib": before / 1024}
    print(json.dumps(row))


def main() -> int:
    results: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    total = time.perf_counter()
    round_time = 0.0
    for round_ in range(MAX_ROUNDS):
        started = time.perf_counter()
        if round_ >= MIN_ROUNDS and started - total + round_time > BUDGET_SECONDS:
            break
        order = list(VARIANTS) if round_ % 2 == 0 else list(reversed(VARIANTS))
        for variant in order:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", variant],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={**os.environ, **ONE_THREAD},
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            results[variant].append(row)
            print(
                f"  round {round_ + 1} {variant:<12} wall {row['seconds']:6.2f} s"
                f"  cpu {row['cpu']:6.2f} s  peak RSS {row['peak_mib']:7.1f} MiB"
            )
        round_time = time.perf_counter() - started

    print(
        f"\n{ROWS:,} reference + {ROWS:,} current rows, {N_NUM} numeric + {N_CAT} categorical"
        f" columns; {len(results['report'])} runs of each, each in its own subprocess."
    )
    print("Times: best (min) and median wall time, best CPU time of the timed run. The target")
    print("is judged on CPU time (one BLAS/OpenMP thread), which other load disturbs least.")
    print(
        "Peak memory: median ru_maxrss of the subprocesses (interpreter + evidently + data + run)."
    )
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for variant, runs in results.items():
        best[variant] = min(r["seconds"] for r in runs)
        cpu[variant] = min(r["cpu"] for r in runs)
        median = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_mib"] for r in runs)
        before = statistics.median(r["before_mib"] for r in runs)
        print(
            f"{variant:<12} best {best[variant]:6.2f} s  median {median:6.2f} s"
            f"  cpu {cpu[variant]:6.2f} s  peak RSS {peak:7.1f} MiB"
            f" ({before:.1f} MiB before the timed run)"
        )
    ratio = cpu["check_drift"] / cpu["report"]
    verdict = "meets" if ratio <= TARGET else "MISSES"
    print(
        f"ratio check_drift / report: cpu {ratio:.3f} ({verdict} the {TARGET}x target),"
        f" best wall {best['check_drift'] / best['report']:.3f}"
    )
    print(f"total wall time {time.perf_counter() - total:.0f} s")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        sys.exit(main())
