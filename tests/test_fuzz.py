"""Nothing a client sends gets a 5xx, and every answer is what the OpenAPI document says:
schemathesis generates requests for every operation of the document, valid and invalid, as an
officer, a data scientist and a frontline tool, against a database holding an approved chain (so
that ids and names lead somewhere), and checks each body against the schema documented for its
status (see tests/fuzzing.py).

A bounded run is part of the suite (``GATEHOUSE_FUZZ_EXAMPLES``; 3 per operation, mode and
caller here); `make fuzz` runs every role against the demo council for a while (scripts/fuzz.py).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from flask import Flask

from .chain import build_chain
from .conftest import Api
from .fuzzing import fuzz

EXAMPLES = int(os.environ.get("GATEHOUSE_FUZZ_EXAMPLES", "3"))


def callers(api: Api) -> dict[str, str]:
    chain = build_chain(api)
    return {"officer": api.tokens["olivia"], "data scientist": api.tokens["sam"],
            "frontline tool": chain.client_token}


def test_no_request_gets_a_server_error_and_every_answer_is_documented(app: Flask,
                                                                       api: Api) -> None:
    found = fuzz(app, callers(api), examples=EXAMPLES)
    assert found.operations >= 40  # the whole document was walked
    # the probes reached the handlers: some were served, some refused for their content
    assert sum(n for s, n in found.statuses.items() if s < 300) >= 50, found.statuses
    assert found.statuses[422] + found.statuses[400] >= 50, found.statuses
    assert not found.server_errors, "\n".join(found.server_errors[:20])
    assert not found.violations, (f"{len(found.violations)} answers not as documented:\n"
                                  + "\n".join(found.violations[:20]))


def test_a_server_error_would_be_found(app: Flask, api: Api,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The positive control: a handler that fails is reported."""
    from registry.usecases import ledger as ledger_check

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the ledger cannot be read")

    monkeypatch.setattr(ledger_check, "check", broken)
    found = fuzz(app, {"officer": api.tokens["olivia"]}, only="/ledger/verify")
    assert found.operations == 1
    assert found.server_errors and all(e.startswith("500 as officer") and "/ledger/verify" in e
                                       for e in found.server_errors), found


def test_an_undocumented_answer_would_be_found(app: Flask, api: Api,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The positive control of conformance: an answer the document does not describe."""
    from flask import jsonify

    from registry.usecases import ledger as ledger_check

    class Odd:
        def as_dict(self) -> Any:  # a response as it is, past the documented schema
            return jsonify({"ok": "not a boolean", "entries": "many"})

    monkeypatch.setattr(ledger_check, "check", lambda *_, **__: Odd())
    found = fuzz(app, {"auditor": api.tokens["audrey"]}, only="/ledger/verify")
    assert found.violations and all("/ledger/verify" in v for v in found.violations), found
