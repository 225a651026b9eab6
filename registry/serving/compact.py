"""A receipt's explanation in compact form, and the explanation read back from it exactly.

A score's explanation repeats, for every feature, its name, its value, a sentence and the
notice: ~3 KB a receipt. What it says follows from much less: the base value and the
contributions in the schema's feature order (float64, packed as bytes so they come back bit for
bit), each feature's value (a category as its index in the schema's allowed values), and the
scale. The names, the statements, the order (largest first) and the notice are regenerated from
the version's feature schema by the code that wrote them at scoring time
(:func:`registry.analysis.explain.contribution_items`), so a receipt read back says exactly what
the score said. The schema cannot change once a version is approved, and only approved versions
write receipts.

Receipts written before this form (a dict with the statements in it) are read as they were
stored: ``expand`` tells the two apart by the form's version, ``"v"``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis.statements import FeatureSpec, explanation

FORM = 2
_SCALES = {"probability": "p", "log-odds": "l"}
_SCALE_OF = {v: k for k, v in _SCALES.items()}


def specs(schema: Sequence[dict[str, Any]]) -> list[FeatureSpec]:
    return [FeatureSpec(f["name"], f["type"], f.get("description")) for f in schema]


class Packer:
    """Packs the explanations of one version's scores (its schema read once, for a batch)."""

    def __init__(self, schema: Sequence[dict[str, Any]]) -> None:
        self.names = [f["name"] for f in schema]
        self.index = [
            {v: i for i, v in enumerate(f["allowed"])} if f.get("allowed") else None
            for f in schema
        ]

    def values(self, row: dict[str, Any]) -> list[Any]:
        """The row's values in schema order, a category as its index in the allowed values."""
        return [value if index is None or value is None else index.get(value, value)
                for value, index in zip(map(row.get, self.names), self.index, strict=True)]

    def pack(self, row: dict[str, Any], base: float, contributions: Sequence[float],
             scale: str, explained: float, score: float) -> dict[str, Any]:
        """``contributions`` in schema order; the explained value is kept only when it is not
        the score (the log-odds scale)."""
        floats = [base, *contributions] + ([] if explained == score else [explained])
        return {"v": FORM, "s": _SCALES[scale], "x": self.values(row),
                "f": base64.b64encode(np.array(floats, dtype="<f8").tobytes()).decode()}


def expand(stored: dict[str, Any] | None, schema: Sequence[dict[str, Any]],
           score: float) -> dict[str, Any] | None:
    """The explanation as the score answered it; an old-form receipt's as it was stored."""
    if stored is None or stored.get("v") != FORM:
        return stored
    features = specs(schema)
    floats = np.frombuffer(base64.b64decode(stored["f"]), dtype="<f8").tolist()
    values = [
        f["allowed"][v] if f.get("allowed") and isinstance(v, int) and not isinstance(v, bool)
        else v
        for f, v in zip(schema, stored["x"], strict=True)
    ]
    n = len(features)
    return explanation(features, values, floats[1:n + 1], _SCALE_OF[stored["s"]], floats[0],
                       score, floats[n + 1] if len(floats) > n + 1 else score)
