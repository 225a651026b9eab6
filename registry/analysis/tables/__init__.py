"""Uploaded tables: read as CSV or Parquet, typed and checked against a declared column schema,
and profiled.

Only the names below are for other layers; the modules behind them are private.
"""

from ._tabular import (
    TableError,
    conform,
    detect_format,
    load_stored,
    profile,
    read_table,
    rules_from,
)

__all__ = [
    "TableError",
    "conform",
    "detect_format",
    "load_stored",
    "profile",
    "read_table",
    "rules_from",
]
