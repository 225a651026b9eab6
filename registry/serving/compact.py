"""A receipt's explanation in compact form, and the explanation read back from it exactly.

A score's explanation repeats, for every feature, its name, its value, a sentence and the
notice: ~3 KB a receipt. What it says follows from much less: the base value and the
contributions in the schema's feature order (float64, packed as bytes so they come back bit for
bit), the scale, and each feature's value. The names, the statements, the order (largest first)
and the notice are regenerated from the version's feature schema by the code that wrote them at
scoring time (:func:`registry.analysis.explain.contribution_items`), so a receipt read back says
exactly what the score said. The schema cannot change once a version is approved, and only
approved versions write receipts.

The values are the receipt's inputs, kept only for the policy's retention
(``serving.retain_inputs_days``; none at 0) and then erased: the explanation does not keep a
copy of them (form 3), so it reads them from the inputs while they are kept, and says each was
erased after. Form 2 kept them (``"x"``, a category as its index in the allowed values): it is
read the same way, its copy never shown once the inputs are gone. Receipts written before
either form (a dict with the statements in it) are read as they were stored while their inputs
are kept, and worded again without the values after: ``expand`` tells them apart by ``"v"``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis.statements import FeatureSpec, explanation

FORM = 3
_FORMS = (2, 3)
_SCALES = {"probability": "p", "log-odds": "l"}
_SCALE_OF = {v: k for k, v in _SCALES.items()}


def specs(schema: Sequence[dict[str, Any]]) -> list[FeatureSpec]:
    return [FeatureSpec(f["name"], f["type"], f.get("description")) for f in schema]


def pack(base: float, contributions: Sequence[float], scale: str, explained: float,
         score: float) -> dict[str, Any]:
    """``contributions`` in schema order; the explained value is kept only when it is not the
    score (the log-odds scale). The row's values are not kept: they are the inputs."""
    floats = [base, *contributions] + ([] if explained == score else [explained])
    return {"v": FORM, "s": _SCALES[scale],
            "f": base64.b64encode(np.array(floats, dtype="<f8").tobytes()).decode()}


def expand(stored: dict[str, Any] | None, schema: Sequence[dict[str, Any]], score: float,
           inputs: dict[str, Any] | None) -> dict[str, Any] | None:
    """The explanation as the score answered it, its values read from the receipt's ``inputs``;
    each said to be erased once they are (None)."""
    if stored is None or (stored.get("v") not in _FORMS and inputs is not None):
        return stored
    features = specs(schema)
    values = [None] * len(features) if inputs is None else [inputs.get(f.name) for f in features]
    if stored.get("v") in _FORMS:
        scale = _SCALE_OF[stored["s"]]
        floats = np.frombuffer(base64.b64decode(stored["f"]), dtype="<f8").tolist()
        n = len(features)
        base, contributions = floats[0], floats[1:n + 1]
        explained = floats[n + 1] if len(floats) > n + 1 else score
    else:  # stored before either form: its numbers, in schema order
        by_name = {i["feature"]: i["contribution"] for i in stored["contributions"]}
        scale, base, contributions = stored["scale"], stored["base_value"], [
            by_name[f.name] for f in features]
        explained = stored.get("explained_value", score)
    return explanation(features, values, contributions, scale, base, score, explained,
                       erased=inputs is None)
