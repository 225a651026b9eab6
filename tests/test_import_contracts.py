"""The house stays as drawn: import-linter's contracts hold, and fail on a wrong import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# (where, the line added, what lint-imports must say)
WRONG = {
    "a record reaching up into the API": (
        "registry/records/base.py", "from registry.api import errors as _errors  # noqa",
        "registry.records is not allowed to import registry.api"),
    "a circle hidden in a function": (
        "registry/governance/policy.py",
        "def _circle() -> None:\n    from . import lifecycle  # noqa",
        "No cycles are allowed in registry.governance"),
    "a module importing its own package": (
        "registry/governance/gaps.py", "from registry import governance as _governance  # noqa",
        "registry.governance.gaps imports its own package registry.governance"),
}


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True,
                          text=True, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
                          timeout=300)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package, its contracts and the contract types, to break on purpose."""
    # a test extra (make setup installs it): missing, the house would go unchecked, so fail
    assert LINT_IMPORTS.exists(), "import-linter is not installed: run make setup"
    tree = tmp_path_factory.mktemp("house")
    for name in ("registry", "tools"):
        shutil.copytree(ROOT / name, tree / name,
                        ignore=shutil.ignore_patterns("__pycache__", "assets"))
    shutil.copy(ROOT / "pyproject.toml", tree)
    return tree


def test_the_contracts_hold(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken." in result.stdout.split("Contracts:")[-1], result.stdout


@pytest.mark.parametrize("case", sorted(WRONG))
def test_a_wrong_import_breaks_them(tree: Path, case: str) -> None:
    where, line, says = WRONG[case]
    path = tree / where
    original = path.read_text()
    path.write_text(original + "\n\n" + line + "\n")
    try:
        result = lint(tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert says in result.stdout, result.stdout
