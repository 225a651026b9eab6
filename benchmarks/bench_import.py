"""How long `import wsgi` takes in a fresh interpreter (target: under 1.5 s), against a bare
`import flask, sqlalchemy` baseline measured in the same run."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def timed(code: str) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    baseline = timed("import flask, sqlalchemy.orm")
    app = timed("import wsgi")
    heavy = timed(
        "import sys, wsgi; assert not {'shap', 'evidently', 'fairlearn.metrics', "
        "'sklearn', 'pandas'} & set(sys.modules), 'heavy import at start'"
    )
    print(f"import flask + sqlalchemy (baseline): {baseline:.3f} s (median of {RUNS})")
    print(
        f"import wsgi (the whole app):          {app:.3f} s  target < 1.5 s  "
        f"{'OK' if app < 1.5 else 'OVER'}"
    )
    print(f"ratio app / baseline:                 {app / baseline:.2f}x")
    print(f"no shap/evidently/fairlearn/sklearn/pandas at start: checked ({heavy:.3f} s)")


if __name__ == "__main__":
    main()
