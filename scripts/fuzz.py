"""`make fuzz`: schemathesis over the whole OpenAPI document as each role — data scientist,
governance officer, DPO, auditor, admin and a frontline tool — against the demo council
(`gatehouse demo`) on a throw-away SQLite database.

    GATEHOUSE_FUZZ_SECONDS=180 GATEHOUSE_FUZZ_EXAMPLES=10 .venv/bin/python scripts/fuzz.py

Rounds of fresh examples (GATEHOUSE_FUZZ_EXAMPLES per operation, mode and role) run until the
time is up (GATEHOUSE_FUZZ_SECONDS, loading the demo not counted); then the counts per status
and per role are printed. Exits 1 if any request got a server error or an answer the document
does not describe.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.app import create_app  # noqa: E402
from tests.fuzzing import fuzz  # noqa: E402

# Each role, as the demo council's sign-in handle or client name.
ROLES = {
    "data scientist": "sam.patel",
    "officer": "olivia.okafor",
    "DPO": "dee.marsh",
    "auditor": "audrey.kent",
    "admin": "ada.lovell",
    "frontline tool": "housing-inspections-app",
}


def demo_tokens(output: str) -> dict[str, str]:
    """The API tokens `gatehouse demo` prints, by handle."""
    lines = output.split("API tokens (Authorization: Bearer …):", 1)[1].splitlines()
    return dict(line.strip().split(": ", 1) for line in lines if ": " in line)


def main() -> int:
    seconds = float(os.environ.get("GATEHOUSE_FUZZ_SECONDS", "180"))
    examples = int(os.environ.get("GATEHOUSE_FUZZ_EXAMPLES", "10"))
    with tempfile.TemporaryDirectory(prefix="gatehouse-fuzz-") as folder:
        app = create_app({
            "INSTANCE_PATH": f"{folder}/instance",
            "DATABASE_URL": f"sqlite:///{folder}/demo.sqlite3",
            "DATA_DIR": f"{folder}/data",
            "SECRET_KEY": "fuzz",
            "JOB_WORKERS": 0,  # jobs run in the request that asks, as with one worker
        })
        runner = app.test_cli_runner()
        for command in (["db", "upgrade"], ["demo"]):
            result = runner.invoke(args=command)
            if result.exit_code:
                print(result.output, file=sys.stderr)
                return 2
        tokens = demo_tokens(result.output)
        callers = {role: tokens[handle] for role, handle in ROLES.items()}
        logging.getLogger().setLevel(logging.ERROR)  # the counts, not every refusal logged
        print(f"fuzzing as {', '.join(callers)} for {seconds:.0f} s, {examples} examples "
              "per operation, mode and role in each round", flush=True)
        found = fuzz(app, callers, examples=examples, rounds=sys.maxsize,
                     until=time.monotonic() + seconds)
    print(found.report())
    for problem in (found.server_errors + found.violations)[:30]:
        print(" ", problem)
    return 1 if found.server_errors or found.violations else 0


if __name__ == "__main__":
    sys.exit(main())
