"""The dataset schema's view of one input column, shared by the explainer and its statements."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FeatureSpec:
    """One input column of the dataset schema: name, type and plain-language description."""

    name: str
    type: str  # "number" | "integer" | "category" | "boolean"
    description: str | None = None

