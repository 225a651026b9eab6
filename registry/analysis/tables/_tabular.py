"""Reading uploaded tables and checking them against a declared column schema."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

PARQUET_MAGIC = b"PAR1"


class TableError(ValueError):
    """The upload cannot be read as a table, or contradicts its schema: `details` per column."""

    def __init__(self, message: str, details: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class ColumnRule:
    name: str
    type: str
    nullable: bool = True
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass
class Profile:
    format: str
    row_count: int
    completeness: dict[str, float]
    content_hash: str


def detect_format(filename: str, data: bytes) -> str:
    if data[:4] == PARQUET_MAGIC:
        return "parquet"
    if filename.lower().endswith(".parquet"):
        raise TableError("the file is named .parquet but is not Parquet", {"file": ["not Parquet"]})
    return "csv"


def read_table(data: bytes, fmt: str, columns: list[ColumnRule]) -> pd.DataFrame:
    """Parse CSV (every column read as text first, then typed by the schema) or Parquet."""
    import pandas as pd

    if not data:
        raise TableError("the file is empty", {"file": ["empty"]})
    try:
        if fmt == "parquet":
            return pd.read_parquet(io.BytesIO(data))
        text = data.decode("utf-8-sig")
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError as exc:
        raise TableError("the CSV is not UTF-8 text", {"file": [str(exc)]}) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise TableError(f"the {fmt} file cannot be read", {"file": [str(exc)]}) from exc


def conform(frame: pd.DataFrame, rules: list[ColumnRule]) -> pd.DataFrame:
    """Type every column by its rule; raise TableError listing every column that disagrees."""
    import pandas as pd

    problems: dict[str, list[str]] = {}
    declared = [r.name for r in rules]
    for name in frame.columns:
        if name not in declared:
            problems.setdefault(str(name), []).append("column is not in the declared schema")
    for rule in rules:
        if rule.name not in frame.columns:
            problems.setdefault(rule.name, []).append("declared column is missing from the data")
    if problems:
        raise TableError("the data does not match the declared schema", problems)

    out = {}
    for rule in rules:
        col = frame[rule.name]
        issues: list[str] = []
        missing = col.isna()
        if rule.type in ("integer", "number"):
            typed = pd.to_numeric(col, errors="coerce")
            bad = typed.isna() & ~missing
            if rule.type == "integer":
                bad |= typed.notna() & (typed % 1 != 0)
            if bad.any():
                issues.append(
                    _rows(f"not {'an integer' if rule.type == 'integer' else 'a number'}", col, bad)
                )
            if rule.minimum is not None and (typed < rule.minimum).any():
                issues.append(
                    _rows(f"below the minimum {rule.minimum:g}", col, typed < rule.minimum)
                )
            if rule.maximum is not None and (typed > rule.maximum).any():
                issues.append(
                    _rows(f"above the maximum {rule.maximum:g}", col, typed > rule.maximum)
                )
        elif rule.type == "boolean":
            lowered = col.astype("string").str.strip().str.lower()
            mapping = {
                "true": True,
                "false": False,
                "1": True,
                "0": False,
                "yes": True,
                "no": False,
            }
            typed = lowered.map(mapping)
            bad = typed.isna() & ~missing
            if bad.any():
                issues.append(_rows("not true/false", col, bad))
            typed = typed.astype("boolean")
        elif rule.type == "date":
            typed = pd.to_datetime(col, errors="coerce", format="ISO8601")
            bad = typed.isna() & ~missing
            if bad.any():
                issues.append(_rows("not an ISO date", col, bad))
        else:
            typed = col.astype("string")
            if rule.allowed is not None:
                bad = ~typed.isin(list(rule.allowed)) & ~missing
                if bad.any():
                    issues.append(_rows("not an allowed category", col, bad))
        if not rule.nullable and missing.any():
            issues.append(_rows("missing where the schema says it may not be", col, missing))
        if issues:
            problems[rule.name] = issues
        out[rule.name] = typed
    if problems:
        raise TableError("the data does not match the declared schema", problems)
    return pd.DataFrame(out)


def _rows(problem: str, col: pd.Series, mask: pd.Series) -> str:
    """A problem with the first offending rows (1-based data rows) and their values."""
    idx = list(mask[mask].index[:3])
    examples = ", ".join(f"row {i + 1}: {col[i]!r}" for i in idx)
    return f"{int(mask.sum())} value(s) {problem} ({examples})"


def profile(data: bytes, fmt: str, frame: pd.DataFrame) -> Profile:
    completeness = {
        str(c): round(float(frame[c].notna().mean()) if len(frame) else 0.0, 6) for c in frame
    }
    return Profile(fmt, int(len(frame)), completeness, hashlib.sha256(data).hexdigest())


def rules_from(columns: list[Any]) -> list[ColumnRule]:
    """ColumnRules from DatasetColumn records or feature-schema dicts."""

    def get(c: Any, key: str) -> Any:
        return c.get(key) if isinstance(c, dict) else getattr(c, key, None)

    return [
        ColumnRule(
            name=get(c, "name"),
            type=get(c, "type"),
            nullable=get(c, "nullable") is not False,
            allowed=tuple(get(c, "allowed")) if get(c, "allowed") is not None else None,
            minimum=get(c, "minimum"),
            maximum=get(c, "maximum"),
        )
        for c in columns
    ]


def load_stored(data: bytes, fmt: str, rules: list[ColumnRule]) -> pd.DataFrame:
    """A stored upload, typed by its schema (it was checked when it was uploaded)."""
    return conform(read_table(data, fmt, rules), rules)
