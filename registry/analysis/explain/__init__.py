"""Scores with SHAP explanations a caseworker can read, and the upload check that proves them.

Only the names below are for other layers; the modules behind them are private.
"""

from ._explainer import Explainer, Explanation
from ._features import FeatureSpec
from ._rows import json_value
from ._self_check import self_check
from ._statements import contribution_items, notice_for

__all__ = [
    "Explainer",
    "Explanation",
    "FeatureSpec",
    "contribution_items",
    "json_value",
    "notice_for",
    "self_check",
]
