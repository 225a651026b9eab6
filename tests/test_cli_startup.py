"""`gatehouse users create` starts light (issue 17: at most 1.5x `import flask, sqlalchemy`, see
benchmarks/bench_cli.py): it loads neither the API, the pages, the job queue nor the rules a
commit raising no event does not run, and it still does all it did."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
# What the command does not use: the API and the pages, the job machinery (loaded when a
# delivery is queued), the chain rule and the sweep (loaded when an entry lapses a version or
# the calendar runs), serving, registration's rules and the analysis tables, webhooks' checks
# and the outbound HTTP and mail (dispatching an event needs neither), and the analysis and
# queue libraries; nor python-dotenv (settings come from the environment alone).
HEAVY = ("registry.api", "registry.web", "registry.serving", "flask_smorest", "apispec",
         "flask_wtf", "alembic", "registry.jobs.queue", "registry.jobs.runner",
         "registry.jobs.handlers", "registry.governance.chain", "registry.governance.gates",
         "registry.governance.sweep", "registry.governance.registration", "registry.analysis",
         "registry.governance.webhooks", "registry.platform.outbound", "smtplib", "celery",
         "pandas", "sklearn", "shap", "evidently", "dotenv")


def test_users_create_loads_only_what_it_uses_and_does_all_it_did(tmp_path: Path) -> None:
    database = tmp_path / "g.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "x",
           "GATEHOUSE_DATA_DIR": str(tmp_path / "data"), "GATEHOUSE_INSTANCE_PATH": str(tmp_path),
           "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    gatehouse = "import sys; sys.argv[0] = 'gatehouse'; from registry.__main__ import main; main()"
    upgraded = subprocess.run([sys.executable, "-c", gatehouse, "db", "upgrade"],
                              capture_output=True, text=True, env=env, timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    # what was loaded is reported by an exit handler: the command ends the process itself
    code = ("import atexit, gc, sys\n"
            "sys.argv = ['gatehouse', 'users', 'create', 'ada@example.org', '--role', 'auditor']\n"
            "def report():\n"
            f"    print('loaded:', ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
            # the collector is on again for the command's own work, the loaded heap frozen
            "    print('collector:', gc.isenabled(), gc.get_freeze_count() > 0)\n"
            "atexit.register(report)\n"
            "from registry.__main__ import main\n"  # the console script's entry point
            "main()\n")
    made = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    *said, token, loaded, collector = made.stdout.splitlines()
    assert loaded == "loaded: ", made.stdout
    assert collector == "collector: True True"
    assert said == ["created user 1 ada@example.org with roles auditor"]
    assert token.startswith("ghu_") and " " not in token  # the token alone, last

    with sqlite3.connect(database) as db:
        (user_id,) = db.execute("SELECT id FROM users WHERE email = 'ada@example.org' AND "
                                "token_hash IS NOT NULL").fetchone()
        roles = db.execute("SELECT roles FROM memberships WHERE user_id = ?", (user_id,)
                           ).fetchall()
        entries = db.execute("SELECT seq, action, subject_kind, subject_id FROM ledger_entries"
                             ).fetchall()
        cursor = db.execute("SELECT seq FROM event_cursor").fetchall()
    assert roles == [('["auditor"]',)]
    assert [(action, kind, subject) for _, action, kind, subject in entries] == [
        ("create", "user", str(user_id))]
    # the commit's events were collected after it, as before (the entry raises none)
    assert cursor == [(entries[-1][0],)]

    # The ledger's first entry cuts its first checkpoint, which chains the receipts; a later
    # entry with no checkpoint due loads no receipt chain either.
    again = subprocess.run([sys.executable, "-c", code.replace("ada@", "bob@").replace(
        repr(HEAVY), repr((*HEAVY, "registry.governance.receipt_chain")))],
        capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "loaded: " in again.stdout.splitlines(), again.stdout

    # A refused command ends with its status and its message, as before.
    refused = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=120)
    assert refused.returncode == 2, refused
    assert "a user with this email exists" in refused.stderr and "email" in refused.stderr
