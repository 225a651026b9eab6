"""Checking one case's features against the version's schema, naming every bad field."""

from __future__ import annotations

import math
import sys
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
