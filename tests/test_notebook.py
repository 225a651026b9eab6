"""The worked notebook, executed against a live server: the whole German-credit chain
registered in the order the gates need, in a bounded time."""

from __future__ import annotations

import os
from pathlib import Path

import nbclient
import nbformat
import pytest
from flask import Flask

from .conftest import FIXTURES, Api
from .live import serving

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "notebooks" / "register_german_credit.ipynb"


def test_the_german_credit_notebook_runs(app: Flask, api: Api,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with serving(app) as address:
        for variable, person in (("DATA_SCIENTIST", "sam"), ("OFFICER", "olivia"),
                                 ("DPO", "dee"), ("ADMIN", "ada")):
            monkeypatch.setenv(f"GATEHOUSE_TOKEN_{variable}", api.tokens[person])
        monkeypatch.setenv("GATEHOUSE_URL", f"http://{address}")
        monkeypatch.setenv("GERMAN_CREDIT_CSV", str(FIXTURES / "german_credit.csv"))
        path = os.pathsep.join(p for p in (str(ROOT / "clients" / "python"), str(ROOT),
                                           os.environ.get("PYTHONPATH")) if p)
        monkeypatch.setenv("PYTHONPATH", path)
        nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = "\n".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "gc-credit-risk v1: submitted; bias audit pass; drift monitor" in text
    assert "ready: every requirement is met" in text
