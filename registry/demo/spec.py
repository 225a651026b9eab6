"""How a demo dataset is described: its columns, their flags, and the dataset's label."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

YES_NO = ("no", "yes")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a dataset: its type, a plain-English description and its flags."""

    name: str
    type: str
    description: str
    protected: bool = False
    proxy: bool = False
    identifier: bool = False
    suppressed: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class DemoDataset:
    """A synthetic dataset with its schema and label."""

    key: str
    title: str
    description: str
    classification: str
    label: str | None
    positive_label: str | None
    columns: tuple[ColumnSpec, ...]
    frame: pd.DataFrame

    def column(self, name: str) -> ColumnSpec:
        """The spec of the column called ``name``."""
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(name)
