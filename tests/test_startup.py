"""Starting the app stays light: the analysis libraries load with the first job or model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("pandas", "sklearn", "shap", "evidently", "fairlearn", "skops")


def test_the_app_starts_without_the_analysis_libraries(tmp_path: Path) -> None:
    code = ("import sys, wsgi; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'g.sqlite3'}", "SECRET_KEY": "x",
           "GATEHOUSE_DATA_DIR": str(tmp_path / "data"), "GATEHOUSE_JOB_WORKERS": "0",
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).parent.parent, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"imported at start: {result.stdout.strip()}"


def test_commands_that_serve_nothing_start_without_the_api_and_pages(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'g.sqlite3'}", "SECRET_KEY": "x",
           "GATEHOUSE_DATA_DIR": str(tmp_path / "data"), "GATEHOUSE_INSTANCE_PATH": str(tmp_path),
           "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parent.parent)}
    gatehouse = "import sys; sys.argv[0] = 'gatehouse'; from registry.app import main; main()"
    shown = subprocess.run([sys.executable, "-c", gatehouse, "--help"], capture_output=True,
                           text=True, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "users" in shown.stdout and "clients" in shown.stdout and "run" in shown.stdout
    code = ("import sys; from registry.app import create_app; create_app(routes=False); "
            "print(','.join(m for m in ('flask_smorest', 'apispec', 'registry.api', "
            "'registry.web', 'flask_wtf') if m in sys.modules))")
    lean = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert lean.returncode == 0, lean.stderr
    assert lean.stdout.strip() == "", f"imported without serving: {lean.stdout.strip()}"
    code = ("import sys\nsys.argv = ['gatehouse', 'users', 'create', '--help']\n"
            "from registry.app import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('loaded:', ','.join(m for m in ('registry.records', 'sqlalchemy.orm', "
            "'registry.usecases', 'alembic') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, timeout=120)
    assert "--role [data_scientist|governance_officer|dpo|auditor|admin]" in shown.stdout
    assert shown.stdout.splitlines()[-1] == "loaded: ", shown.stdout  # help loads no records
