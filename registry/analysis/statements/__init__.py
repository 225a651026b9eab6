"""The plain-language side of an explanation: the schema's view of a feature, one statement per
feature, the notices, and a row's explanation assembled from its numbers.

Light on purpose (no numpy or pandas): the service reads receipts back and words their
explanations without loading any model.
"""

from ._features import FeatureSpec
from ._wording import (
    ERASED,
    LOG_ODDS_NOTICE,
    NOTICE,
    contribution_items,
    explanation,
    format_value,
    notice_for,
    points,
    probability_changes,
    statement,
)

__all__ = [
    "ERASED",
    "LOG_ODDS_NOTICE",
    "NOTICE",
    "FeatureSpec",
    "contribution_items",
    "explanation",
    "format_value",
    "notice_for",
    "points",
    "probability_changes",
    "statement",
]
