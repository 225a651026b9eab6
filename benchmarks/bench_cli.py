"""How long the `gatehouse` command takes to start (`--help`, `users create --help`) against a
bare `import flask, sqlalchemy`, runs alternating so a loaded machine slows each alike.
Target: each at most 1.5x the baseline. A real `users create` (on a migrated SQLite database,
no web password) is shown too: it loads the records and the rules it runs."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
GATEHOUSE = "import sys; sys.argv[0] = 'gatehouse'; from registry.app import main; main()"
COMMANDS = {
    "import flask, sqlalchemy (baseline)": ["-c", "import flask, sqlalchemy"],
    "gatehouse --help": ["-c", GATEHOUSE, "--help"],
    "gatehouse users create --help": ["-c", GATEHOUSE, "users", "create", "--help"],
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "GATEHOUSE_INSTANCE_PATH": tmp,
               "DATABASE_URL": f"sqlite:///{tmp}/g.sqlite3", "GATEHOUSE_DATA_DIR": tmp}
        subprocess.run([sys.executable, "-c", GATEHOUSE, "db", "upgrade"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        commands = {**COMMANDS, "gatehouse users create (a real run)": ["-c", GATEHOUSE, "users",
                    "create", "{email}", "--role", "auditor"]}
        times: dict[str, list[float]] = {name: [] for name in commands}
        for run in range(RUNS):
            for name, template in commands.items():
                args = [a.format(email=f"bench{run}@example.org") for a in template]
                start = time.perf_counter()
                subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True,
                               capture_output=True)
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) for name, t in times.items()}
    baseline = next(iter(medians.values()))
    for name, median in medians.items():
        print(f"{name:40s} {median:.3f} s  {median / baseline:.2f}x"
              f"{'' if median == baseline else '  OK' if median <= 1.5 * baseline else '  OVER'}")
    print(f"(medians of {RUNS} alternating runs; load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
