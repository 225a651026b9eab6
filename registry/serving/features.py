"""Checking one case's features against the version's schema, naming every bad field."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

from ..governance.errors import Invalid


def validate(features: Any, schema: list[dict[str, Any]], where: str = "features"
             ) -> dict[str, Any]:
    """The case's values, typed; Invalid lists each missing, unknown, wrong-typed, out-of-range or
    unseen-category field."""
    if not isinstance(features, dict):
        raise Invalid(f"{where} must be an object of feature values", {where: ["not an object"]})
    problems: dict[str, list[str]] = {}
    known = {f["name"] for f in schema}
    for name in features:
        if name not in known:
            problems[f"{where}.{name}"] = ["unknown feature"]
    out: dict[str, Any] = {}
    for spec in schema:
        name, kind = spec["name"], spec["type"]
        key = f"{where}.{name}"
        if name not in features:
            problems[key] = ["missing"]
            continue
        value = features[name]
        if value is None:
            out[name] = None  # the pipeline's imputer decides; the explanation says "missing"
            continue
        if kind in ("integer", "number"):
            if isinstance(value, bool) or not isinstance(value, int | float) or (
                    isinstance(value, float) and not math.isfinite(value)):
                problems[key] = [f"must be a {'whole number' if kind == 'integer' else 'number'}"]
                continue
            if isinstance(value, int) and abs(value) > sys.float_info.max:  # JSON allows it
                problems[key] = ["beyond the range of any number"]
                continue
            if kind == "integer" and float(value) != int(value):
                problems[key] = ["must be a whole number"]
                continue
            lo, hi = spec.get("minimum"), spec.get("maximum")
            if lo is not None and value < lo:
                problems[key] = [f"below the minimum {lo:g}"]
            elif hi is not None and value > hi:
                problems[key] = [f"above the maximum {hi:g}"]
            out[name] = float(value)
        elif kind == "boolean":
            if not isinstance(value, bool) and value not in (0, 1):
                problems[key] = ["must be true or false"]
                continue
            out[name] = float(value)
        else:
            if not isinstance(value, str):
                problems[key] = ["must be text"]
                continue
            allowed = spec.get("allowed")
            if allowed is not None and value not in allowed:
                shown = ", ".join(allowed[:12]) + (" …" if len(allowed) > 12 else "")
                problems[key] = [f"unseen category {value!r}; expected one of: {shown}"]
                continue
            out[name] = value
    if problems:
        raise Invalid(f"invalid features: {', '.join(sorted(problems))}", problems)
    return out


class Checker:
    """:func:`validate` for one schema, compiled once: a case that passes every check is typed
    in one pass over prepared fields (~3x quicker: a batch has a thousand cases); anything else
    goes to :func:`validate`, which names each problem. It accepts exactly what ``validate``
    accepts and returns the same values."""

    def __init__(self, schema: Sequence[dict[str, Any]]) -> None:
        self.schema = schema
        self._full = list(schema)
        self._fields = [
            (f["name"], f["type"], f.get("minimum"), f.get("maximum"),
             frozenset(f["allowed"]) if f.get("allowed") is not None else None)
            for f in schema
        ]

    def __call__(self, features: Any, where: str = "features") -> dict[str, Any]:
        out = self._typed(features) if type(features) is dict else None
        return validate(features, self._full, where) if out is None else out

    def _typed(self, features: dict[str, Any]) -> dict[str, Any] | None:
        """The typed case, or None at the first thing that is not plainly right."""
        if len(features) != len(self._fields):
            return None  # a field missing or unknown
        out: dict[str, Any] = {}
        for name, kind, lo, hi, allowed in self._fields:
            value = features.get(name, _MISSING)
            kind_of = type(value)
            if value is None:
                out[name] = None
            elif kind in ("integer", "number"):
                if kind_of is float:
                    if not math.isfinite(value) or (kind == "integer" and not value.is_integer()):
                        return None
                elif kind_of is not int or abs(value) > sys.float_info.max or (
                        kind == "integer" and float(value) != value):  # no float holds it
                    return None
                if (lo is not None and value < lo) or (hi is not None and value > hi):
                    return None
                out[name] = float(value)
            elif kind == "boolean":
                if kind_of is not bool and value not in (0, 1):
                    return None
                out[name] = float(value)
            elif kind_of is not str or (allowed is not None and value not in allowed):
                return None
            else:
                out[name] = value
        return out


_MISSING = object()
_checkers: dict[int, Checker] = {}


def checker(version_id: int, schema: Sequence[dict[str, Any]]) -> Checker:
    """The version's compiled checker (a schema cannot change once approved; checked anyway)."""
    found = _checkers.get(version_id)
    if found is None or (found.schema is not schema and list(found.schema) != list(schema)):
        found = _checkers[version_id] = Checker(schema)
    return found
