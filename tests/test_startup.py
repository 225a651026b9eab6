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
