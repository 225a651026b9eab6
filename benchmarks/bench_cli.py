"""How long the `gatehouse` command takes to start (`--help`, `users create --help`) and to run
a real `users create` (on a migrated SQLite database, no web password: it creates the user,
membership and token, writes the ledger entry and collects its events), against a bare
`import flask, sqlalchemy`, runs alternating so a loaded machine slows each alike.
Target (issue 17): each at most 1.5x the baseline.

Each is a fresh process timed from start to exit (wall clock), median of RUNS; the CPU time
(user + system) of each is shown too, being less swayed by other work on the machine. The
package is byte-compiled first (`compileall`), as pip does when it installs it: with
PYTHONDONTWRITEBYTECODE=1 (this machine) a source tree is otherwise compiled on every run,
which an installed `gatehouse` never is."""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 11
# what the `gatehouse` console script runs (pyproject.toml's [project.scripts])
GATEHOUSE = "import sys; sys.argv[0] = 'gatehouse'; from registry.__main__ import main; main()"
COMMANDS = {
    "import flask, sqlalchemy (baseline)": ["-c", "import flask, sqlalchemy"],
    "gatehouse --help": ["-c", GATEHOUSE, "--help"],
    "gatehouse users create --help": ["-c", GATEHOUSE, "users", "create", "--help"],
}


def main() -> None:
    compileall.compile_dir(ROOT / "registry", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "GATEHOUSE_INSTANCE_PATH": tmp,
               "DATABASE_URL": f"sqlite:///{tmp}/g.sqlite3", "GATEHOUSE_DATA_DIR": tmp}
        subprocess.run([sys.executable, "-c", GATEHOUSE, "db", "upgrade"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        commands = {**COMMANDS, "gatehouse users create (a real run)": ["-c", GATEHOUSE, "users",
                    "create", "{email}", "--role", "auditor"]}
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for run in range(RUNS):
            for name, template in commands.items():
                args = [a.format(email=f"bench{run}@example.org") for a in template]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True,
                               capture_output=True)
                times[name].append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append(after.ru_utime + after.ru_stime
                                 - before.ru_utime - before.ru_stime)
    medians = {name: statistics.median(t) for name, t in times.items()}
    cpu_medians = {name: statistics.median(t) for name, t in cpu.items()}
    baseline, cpu_baseline = next(iter(medians.values())), next(iter(cpu_medians.values()))
    print(f"{'':40s} {'wall':>14s}  {'cpu':>14s}")
    for name, median in medians.items():
        ratio = median / baseline
        print(f"{name:40s} {median:.3f} s {ratio:.2f}x  {cpu_medians[name]:.3f} s "
              f"{cpu_medians[name] / cpu_baseline:.2f}x"
              f"{'' if name == next(iter(medians)) else '  OK' if ratio <= 1.5 else '  OVER'}")
    print(f"(medians of {RUNS} alternating runs; load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
