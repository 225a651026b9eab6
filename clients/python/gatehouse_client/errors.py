"""Refusals and gate answers, in words a person can act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _lines(details: Any) -> list[str]:
    """Each field's problems on a line of its own; a gate's unmet requirements with remedies."""
    if not details:
        return []
    if isinstance(details, Mapping) and isinstance(details.get("requirements"), list):
        return unmet_lines(details["requirements"])
    if isinstance(details, Mapping) and isinstance(details.get("summary"), list):
        # an approval refused: its few lines (the full list stays in details["unmet"])
        return [f"✗ {line.get('text')}" + (f"  ({line['href']})" if line.get("href") else "")
                for line in details["summary"] if isinstance(line, Mapping)]
    if isinstance(details, Mapping):
        out = []
        for field, problems in details.items():
            if isinstance(problems, list) and problems and all(
                    isinstance(p, Mapping) and "id" in p for p in problems):
                out += unmet_lines(problems)  # e.g. an approval's unmet requirements
                continue
            shown = problems if isinstance(problems, list) else [problems]
            out += [f"{field}: {p}" for p in shown]
        return out
    return [str(details)]


def unmet_lines(requirements: list[Mapping[str, Any]]) -> list[str]:
    """``✗ id: detail`` and the remedy beneath, for each unmet requirement."""
    out = []
    for r in requirements:
        if r.get("met"):
            continue
        out.append(f"✗ {r.get('id')}: {r.get('detail') or ''}".rstrip())
        if r.get("remedy"):
            out.append(f"    → {r['remedy']}")
    return out


class GatehouseError(Exception):
    """A request Gatehouse refused: ``status``, ``code``, ``message`` and field ``details``.

    ``str(error)`` names each field's problem, e.g.
    ``422 invalid: the DPIA has invalid fields`` then ``  model_names: no model named 'x'``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        self.status, self.code, self.message = status, code, message
        self.details = details or {}
        text = f"{status} {code}: {message}"
        lines = _lines(self.details)
        super().__init__("\n".join([text, *(f"  {line}" for line in lines)]))


class Gate(dict[str, Any]):
    """A gate's answer (``ready``, ``requirements``, ``waiting_on``) that prints readably."""

    @property
    def unmet(self) -> list[dict[str, Any]]:
        return [r for r in self.get("requirements", []) if not r.get("met")]

    def __str__(self) -> str:
        if self.get("ready"):
            return "ready: every requirement is met"
        lines = [f"not ready: {len(self.unmet)} requirement(s) unmet", *unmet_lines(self.unmet)]
        waiting = self.get("waiting_on") or []
        if waiting:
            lines.append("waiting on, in order:")
            lines += [f"  {w.get('action') or w}" if isinstance(w, Mapping) else f"  {w}"
                      for w in waiting]
        return "\n".join(lines)
