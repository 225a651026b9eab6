"""How each column type of a dataset schema is compared in a drift check.

The reference (from a stored dataset, typed by its schema), a posted batch (CSV reads text or
numbers, Parquet keeps its own dtypes) and the inputs kept from score receipts (JSON: booleans
served as 0/1, dates as text) hold the same column in different shapes. Both sides of a check
go through :func:`typed_columns` so that they are compared as the same kind of thing:

- **integer, number** (and the model's ``score``): numerical, as floats;
- **boolean**: categorical, as the text ``"true"``/``"false"``. A yes/no column has a share,
  not a distribution with a shape: a test of proportions (chi-square, Z-test) is the right one,
  and evidently refuses a boolean dtype as numerical anyway;
- **date**: numerical, as days since 1970-01-01, so a shift earlier or later in time is seen
  as such (months as categories would lose the order, and each new month would be an unseen
  category); a date that tracks the calendar drifts by design, which is worth knowing;
- **category, string**: categorical, as text. A string feature a model uses is a category to
  it (one-hot encoded); free text would always drift and does not belong among features.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

NUMERICAL = "numerical"
CATEGORICAL = "categorical"
KIND = {"integer": NUMERICAL, "number": NUMERICAL, "date": NUMERICAL, "score": NUMERICAL,
        "boolean": CATEGORICAL, "category": CATEGORICAL, "string": CATEGORICAL}
_TRUTH = {"true": "true", "false": "false", "1": "true", "0": "false", "1.0": "true",
          "0.0": "false", "yes": "true", "no": "false"}


def split_columns(types: dict[str, str]) -> tuple[list[str], list[str]]:
    """The columns compared as numbers and those compared as categories, in order."""
    numerical = [c for c, t in types.items() if KIND.get(t, CATEGORICAL) == NUMERICAL]
    return numerical, [c for c in types if c not in numerical]


def typed_columns(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """The frame's columns named in ``types``, each converted as its type is compared.

    Raises ValueError naming every column whose values do not fit its type.
    """
    import pandas as pd

    out: dict[str, pd.Series] = {}
    problems: dict[str, str] = {}
    for column, kind in types.items():
        values = frame[column]
        try:
            out[column] = _convert(values, kind)
        except (TypeError, ValueError) as exc:
            problems[column] = str(exc)
    if problems:
        raise ValueError("; ".join(f"column {c!r} ({types[c]}): {p}"
                                   for c, p in problems.items()))
    return pd.DataFrame(out, index=frame.index)


def _convert(values: pd.Series, kind: str) -> pd.Series:
    import pandas as pd

    missing = values.isna()
    if kind in ("integer", "number", "score"):
        return pd.to_numeric(values, errors="raise").astype(float)
    if kind == "date":
        when = pd.to_datetime(values, errors="coerce", format="ISO8601")
        if (when.isna() & ~missing).any():
            raise ValueError("holds values that are not ISO dates")
        when = when.dt.tz_localize(None) if when.dt.tz is not None else when
        days = (when - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        return days.astype(float)
    if kind == "boolean":
        # Map each distinct value once: True, 1, 1.0, "true", "True", "yes" are all "true".
        mapping = {v: _TRUTH.get(str(v).strip().lower()) for v in values.dropna().unique()}
        bad = [v for v, t in mapping.items() if t is None]
        if bad:
            raise ValueError(f"holds values that are not true/false: {bad[:5]}")
        return values.map(mapping).astype(object).where(~missing, None)
    return values.map(lambda v: None if v is None or v != v else str(v))
