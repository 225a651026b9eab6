"""Schemathesis over every operation of the OpenAPI document, valid and invalid requests, as
each given caller: the statuses met, the server errors, and every answer whose body the document
does not describe (response-schema conformance). Used by tests/test_fuzz.py (a bounded run in
the suite) and scripts/fuzz.py (`make fuzz`: every role, against the demo council)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

MODES = ("positive", "negative")


@dataclass
class Findings:
    operations: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_caller: dict[str, Counter[int]] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def report(self) -> str:
        """The counts per status, per caller and status, and of what went wrong."""
        lines = [f"{sum(self.statuses.values())} requests over {self.operations} operations",
                 "per status: " + _counts(self.statuses)]
        lines += [f"  {who}: {_counts(counts)}" for who, counts in self.by_caller.items()]
        lines.append(f"server errors: {len(self.server_errors)}; "
                     f"response-schema violations: {len(self.violations)}")
        return "\n".join(lines)


def _counts(counts: Counter[int]) -> str:
    return ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))


def fuzz(app: Flask, callers: dict[str, str], only: str | None = None, examples: int = 3,
         rounds: int = 1, until: float | None = None) -> Findings:
    """Every operation (or those whose path contains `only`), in both modes, as each caller,
    `examples` each, for `rounds` rounds of fresh examples or until `until` (monotonic time)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [o for o in operations if not only or only in o.path]
    found = Findings(operations=len(operations))
    for number in range(rounds):
        for operation in operations:
            for mode in MODES:
                for who, token in callers.items():
                    if until is not None and time.monotonic() > until:
                        return found
                    if not _try(operation, mode, who, token, found, examples, number, until):
                        # Hypothesis found no request to make (typically: nothing of this
                        # operation can be made invalid), after ~1,000 tries and a second or
                        # two. What is generated does not depend on the caller (its token is a
                        # fixed header), so the other callers would find none either.
                        break
    return found


def _try(operation: Any, mode: str, who: str, token: str, found: Findings, examples: int,
         number: int, until: float | None) -> bool:
    """Up to `examples` requests; False when none could be generated (Unsatisfiable)."""
    strategy = operation.as_strategy(
        generation_mode=schemathesis.GenerationMode(mode),
        headers={"Authorization": f"Bearer {token}"})
    statuses = found.by_caller.setdefault(who, Counter())

    @seed(number)
    @settings(max_examples=examples, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def call(case: Any) -> None:
        if until is not None and time.monotonic() > until:
            return
        where = f"as {who} ({mode}): {case.method} {case.formatted_path}"
        try:
            response = case.call()
        except Exception as exc:  # raised through the test client: what a server sends as 500
            found.server_errors.append(f"{type(exc).__name__}: {exc} {where}")
            return
        status = response.status_code
        found.statuses[status] += 1
        statuses[status] += 1
        if status >= 500:
            found.server_errors.append(f"{status} {where} query={case.query} "
                                       f"body={case.body!r:.300} → {response.text[:300]}")
        try:
            case.validate_response(response, checks=[response_schema_conformance])
        except (AssertionError, BaseExceptionGroup) as exc:
            failures = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
            found.violations += [f"{status} {where}: {getattr(f, 'title', '')}: "
                                 f"{str(getattr(f, 'message', f))[:300]}" for f in failures]

    try:
        call()
    except Exception as exc:  # no request can be generated for this operation in this mode
        if "Unsatisfiable" not in type(exc).__name__:
            raise
        return False
    return True
