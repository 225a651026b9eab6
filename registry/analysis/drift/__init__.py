"""Data-drift checks: a batch compared with its reference, column by column, with evidently.

Only the names below are for other layers; the modules behind them are private.
"""

from ._check import DriftResult, DriftRules, check_drift
from ._columns import split_columns, typed_columns

__all__ = ["DriftResult", "DriftRules", "check_drift", "split_columns", "typed_columns"]
