"""Scores with SHAP explanations a caseworker can read, and the upload check that proves them.

Only the names below are for other layers; the modules behind them are private. The wording of
explanations is in :mod:`registry.analysis.statements`.
"""

from ..statements import FeatureSpec
from ._explainer import Explainer, Explanation, Scored
from ._self_check import self_check

__all__ = ["Explainer", "Explanation", "FeatureSpec", "Scored", "self_check"]
