"""The house as drawn: views parse and present while the use cases own the transaction, and one
approval judges each record of the chain once."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from registry.governance import gates

from . import builders as b
from .chain import build_chain, ok
from .conftest import Api

REGISTRY = Path(__file__).parent.parent / "registry"


def _transaction_calls(package: str) -> list[str]:
    found = []
    for path in sorted((REGISTRY / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("commit", "rollback")):
                found.append(f"{path.relative_to(REGISTRY)}:{node.lineno} {node.func.attr}()")
    return found


@pytest.mark.parametrize("package", ["api", "web"])
def test_no_view_commits(package: str) -> None:
    """Only the use cases (`registry/usecases`) end a transaction, for the API and the web."""
    assert _transaction_calls(package) == []


def test_one_approval_walks_the_chain_once(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Approving a version judges each record of its chain once: the version, its model, the
    DPIA, two datasets and the agreement under them — six gate evaluations, none repeated
    (every `chain.evaluate` asks `gates.requirements` once, so this counts the walks' steps
    wherever they start)."""
    chain = build_chain(api, approve_version=False)
    ok(api.post(f"{chain.version_url}/submit"))
    judged: list[tuple[str, int]] = []
    requirements = gates.requirements

    def counting(session: Any, record: Any, *args: Any, **kwargs: Any) -> Any:
        judged.append((record.kind, record.id))
        return requirements(session, record, *args, **kwargs)

    monkeypatch.setattr(gates, "requirements", counting)
    b.approve(api, chain.version_url)
    assert sorted(kind for kind, _ in judged) == [
        "agreement", "dataset", "dataset", "dpia", "model", "model_version"]
    assert len(set(judged)) == len(judged)
