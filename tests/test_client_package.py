"""The client is a package of its own: installed alone into a fresh virtual environment, it
registers, publishes and scores against a live server; it and the server import nothing of each
other."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

from flask import Flask

from gatehouse_client import Gate, GatehouseError

from . import builders as b
from .chain import FEATURES, case, fitted
from .conftest import Api
from .live import serving

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "clients" / "python"
PURPOSE = "credit_risk_research"


def _imports(folder: Path) -> set[str]:
    """The top-level packages the modules under `folder` import (absolute imports only)."""
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_the_client_and_the_server_import_nothing_of_each_other() -> None:
    assert "gatehouse_client" not in _imports(ROOT / "registry")
    client = _imports(CLIENT / "gatehouse_client")
    assert "registry" not in client
    # the standard library, and the extras' packages inside the calls that need them
    assert client - set(sys.stdlib_module_names) == {"pandas", "skops"}


def test_refusals_and_gates_read_as_what_to_do() -> None:
    unmet = {"id": "bias_audit", "met": False, "detail": "no bias audit covers sex",
             "remedy": "run a bias audit on the evaluation data"}
    refused = GatehouseError(409, "conflict", 'model "m" v1 cannot be approved: 1 unmet',
                             {"unmet": [unmet]})
    assert str(refused).splitlines() == [
        '409 conflict: model "m" v1 cannot be approved: 1 unmet',
        "  ✗ bias_audit: no bias audit covers sex",
        "      → run a bias audit on the evaluation data"]
    invalid = GatehouseError(422, "invalid", "the DPIA has invalid fields",
                             {"model_names": ["no model named 'x'"]})
    assert str(invalid).endswith("\n  model_names: no model named 'x'")
    gate = Gate(ready=False, requirements=[unmet, {"id": "model", "met": True}],
                waiting_on=[{"action": 'approve model "m" first: it is awaiting approval'}])
    assert str(gate).splitlines() == [
        "not ready: 1 requirement(s) unmet", "✗ bias_audit: no bias audit covers sex",
        "    → run a bias audit on the evaluation data", "waiting on, in order:",
        '  approve model "m" first: it is awaiting approval']
    assert str(Gate(ready=True, requirements=[])) == "ready: every requirement is met"


def test_installed_alone_it_registers_publishes_and_scores(app: Flask, api: Api,
                                                            tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # it has no dependencies; pip builds it with setuptools from the package index
    source = shutil.copytree(CLIENT, tmp_path / "client")  # building leaves files behind
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                                str(source)], timeout=300, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    _, artefact = fitted("gbm")
    (tmp_path / "model.skops").write_bytes(artefact)
    (tmp_path / "train.csv").write_bytes(b.credit_csv(b.training_frame()))
    (tmp_path / "eval.csv").write_bytes(b.credit_csv(b.evaluation_frame()))
    with serving(app) as address:
        config = {"url": f"http://{address}", "tokens": api.tokens, "purpose": PURPOSE,
                  "agreement": b.agreement("DSA-88"), "model": b.model("credit-risk"),
                  "dpia": {k: v for k, v in b.dpia("DPIA-88").items()
                           if k not in ("dataset_ids", "model_names")},
                  "columns": b.credit_columns(), "training": str(tmp_path / "train.csv"),
                  "evaluation": str(tmp_path / "eval.csv"),
                  "artefact": str(tmp_path / "model.skops"), "case": case(3)}
        (tmp_path / "config.json").write_text(json.dumps(config))
        run = subprocess.run([str(python), str(ROOT / "tests" / "client_chain.py"),
                              str(tmp_path / "config.json")], capture_output=True, text=True,
                             timeout=600, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert "model_names" in out["refusal"] and "no-such-model" in out["refusal"]
    assert out["state"] == "submitted" and "bias audit pass" in out["published"]
    assert [f["name"] for f in out["schema"]["features"]] == FEATURES
    result = out["scored"]["results"][0]
    assert 0 <= result["score"] <= 1 and result["receipt_id"]
