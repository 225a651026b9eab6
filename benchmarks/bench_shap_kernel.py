"""Benchmark: the vectorised TreeSHAP kernel (registry/analysis/explain/_boosted_shap.py), now
against a baseline revision of it.

    .venv/bin/python benchmarks/bench_shap_kernel.py [--baseline REV] [--runs 15]

Model: the test chain's (tests/chain.py "gbm": GradientBoostingClassifier(n_estimators=50,
max_depth=3) on the first 700 german_credit rows), explained against 100 of the other 300 as
the registry draws a background; the rows explained are all 1,000 german_credit applicants.
The baseline kernel is read from git (``git show REV:registry/analysis/explain/_boosted_shap.py``;
REV defaults to the last commit before the kernel was rewritten) and built on the same
background. It prints, median of ``--runs`` alternating runs (old, new, old, ...): ms per 1,000
rows (one batch) and µs per single row (200 of them, each alone in turn), with the ratio
old / new. And it checks the new values equal the old within 1e-12, and that every row alone
equals itself in the batch bit for bit.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KERNEL = "registry/analysis/explain/_boosted_shap.py"
BASELINE = "55f0d621418bfeb7307fb899bfada253cae9593a"  # the kernel before its rewrite


def baseline_module(rev: str) -> ModuleType:
    """The kernel's module as it was at ``rev``."""
    source = subprocess.run(["git", "show", f"{rev}:{KERNEL}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "boosted_shap_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("boosted_shap_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def setup() -> tuple[Any, np.ndarray, np.ndarray]:
    """The chain's gbm, its background (moved to its split cells) and all 1,000 german_credit
    applicants (the 700 it was trained on and the 300 it was evaluated on; transformed and
    moved)."""
    from registry.analysis.models import model_frame
    from tests import builders as b
    from tests.analysis.test_explain_held_out import build, feature_schema, held_out_background

    pipeline, explainer = build("gbm", held_out_background())
    cells = explainer._cells
    rows = model_frame(b.credit_frame(), feature_schema())
    x = cells(np.asarray(pipeline[:-1].transform(rows), dtype=float))
    return pipeline[-1], cells(explainer.background_matrix), x


def timed(run: Any) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the old kernel")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    from registry.analysis.explain._boosted_shap import BoostedShap

    estimator, background, x = setup()
    old = baseline_module(args.baseline).BoostedShap.build(estimator, background)
    new = BoostedShap.build(estimator, background)
    assert old is not None and new is not None
    batch = x[:1000]
    singles = [x[i:i + 1] for i in range(0, 1000, 5)]

    expected, got = old.shap_values(batch), new.shap_values(batch)
    difference = float(np.abs(got - expected).max())
    assert difference <= 1e-12, difference
    alone = np.concatenate([new.shap_values(x[i:i + 1]) for i in range(len(batch))])
    assert np.array_equal(alone, got), "a row alone differs from it in the batch"

    times: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    for _ in range(args.runs):
        for name, kernel in (("old", old), ("new", new)):
            times[name].setdefault("batch", []).append(
                timed(lambda k=kernel: k.shap_values(batch)) * 1e3)
            times[name].setdefault("row", []).append(
                timed(lambda k=kernel: [k.shap_values(r) for r in singles]) / len(singles) * 1e6)

    print(f"{len(new.entry_base)} entries, {len(new.tree_stride)} trees, "
          f"{len(background)} background rows; max |new - old| = {difference:.1e}; "
          "a row alone equals it in the batch: yes")
    for what, unit in (("batch", "ms per 1,000 rows"), ("row", "µs per single row")):
        o, n = (float(np.median(times[k][what])) for k in ("old", "new"))
        print(f"{unit:>20}: old {o:8.1f}  new {n:8.1f}  old/new {o / n:5.2f}x")


if __name__ == "__main__":
    main()
