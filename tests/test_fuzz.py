"""Nothing a client sends gets a 5xx: schemathesis generates requests for every operation of the
OpenAPI document, valid and invalid, as an officer, a data scientist and a frontline tool,
against a database holding an approved chain (so that ids and names lead somewhere).

A bounded run is part of the suite; `make fuzz` runs many more examples
(``GATEHOUSE_FUZZ_EXAMPLES``; 3 per operation, mode and caller here)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings

from .chain import build_chain
from .conftest import Api

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = int(os.environ.get("GATEHOUSE_FUZZ_EXAMPLES", "3"))
MODES = ("positive", "negative")


@dataclass
class Findings:
    operations: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)


def fuzz(app: Flask, callers: dict[str, str], only: str | None = None) -> Findings:
    """Every operation (or those whose path contains `only`), in both modes, as each caller."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    found = Findings()
    for result in schema.get_all_operations():
        operation = result.ok()
        if only and only not in operation.path:
            continue
        found.operations += 1
        for mode in MODES:
            for who, token in callers.items():
                _try(operation, mode, who, token, found)
    return found


def _try(operation: Any, mode: str, who: str, token: str, found: Findings) -> None:
    strategy = operation.as_strategy(
        generation_mode=schemathesis.GenerationMode(mode),
        headers={"Authorization": f"Bearer {token}"})

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def call(case: Any) -> None:
        try:
            response = case.call()
        except Exception as exc:  # raised through the test client: what a server sends as 500
            found.server_errors.append(f"{type(exc).__name__}: {exc} as {who} ({mode}): "
                                       f"{case.method} {case.formatted_path}")
            return
        found.statuses[response.status_code] += 1
        if response.status_code >= 500:
            found.server_errors.append(
                f"{response.status_code} as {who} ({mode}): {case.method} {case.formatted_path}"
                f" query={case.query} body={case.body!r:.300} → {response.text[:300]}")

    try:
        call()
    except Exception as exc:  # no request can be generated for this operation in this mode
        if "Unsatisfiable" not in type(exc).__name__:
            raise


def callers(api: Api) -> dict[str, str]:
    chain = build_chain(api)
    return {"officer": api.tokens["olivia"], "data scientist": api.tokens["sam"],
            "frontline tool": chain.client_token}


def test_no_request_gets_a_server_error(app: Flask, api: Api) -> None:
    found = fuzz(app, callers(api))
    assert found.operations >= 40  # the whole document was walked
    # the probes reached the handlers: some were served, some refused for their content
    assert sum(n for s, n in found.statuses.items() if s < 300) >= 50, found.statuses
    assert found.statuses[422] + found.statuses[400] >= 50, found.statuses
    assert not found.server_errors, "\n".join(found.server_errors[:20])


def test_a_server_error_would_be_found(app: Flask, api: Api,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The positive control: a handler that fails is reported."""
    from registry.governance import ledger_check

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the ledger cannot be read")

    monkeypatch.setattr(ledger_check, "check", broken)
    found = fuzz(app, {"officer": api.tokens["olivia"]}, only="/ledger/verify")
    assert found.operations == 1
    assert found.server_errors and all(e.startswith("500 as officer") and "/ledger/verify" in e
                                       for e in found.server_errors), found
