"""Fitted scikit-learn pipelines: taken apart, and their preprocessing compiled to numpy (the
fast path scoring runs on), proven equal to the pipeline before it is used.

Only the names below are for other layers; the modules behind them are private.
"""

from ._fast_transform import Rows
from ._fastpath import column_sources, compile_pipeline, compile_with_reason
from ._steps import sklearn_transform, split_pipeline

__all__ = [
    "Rows",
    "column_sources",
    "compile_pipeline",
    "compile_with_reason",
    "sklearn_transform",
    "split_pipeline",
]
