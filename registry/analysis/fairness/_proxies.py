"""Proxy detection: columns that stand in for a protected attribute (bias-corrected Cramér's V).

A column strongly associated with a protected attribute can carry it into a model that never
sees it. Each candidate column is paired with each protected attribute and their association
measured on their group codes (:mod:`registry.analysis.fairness._groups`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from registry.analysis.fairness._groups import encode_column

if TYPE_CHECKING:  # only for hints: the caller passes the DataFrame
    import pandas as pd


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013) between two integer-coded columns.

    chi2 from the r x k contingency table, phi2 = chi2 / n,
    phi2c = max(0, phi2 - (k-1)(r-1)/(n-1)), rc = r - (r-1)^2/(n-1), kc = k - (k-1)^2/(n-1),
    V = sqrt(phi2c / min(kc-1, rc-1)). 0 when either column has a single value. Unlike the
    plain V, it is close to 0 for independent columns with many categories.
    """
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    r, k, n = int(a.max()) + 1, int(b.max()) + 1, len(a)
    if r < 2 or k < 2 or n < 2:
        return 0.0
    observed = np.bincount(a * k + b, minlength=r * k).reshape(r, k).astype(float)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    phi2c = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    rc = r - (r - 1) ** 2 / (n - 1)
    kc = k - (k - 1) ** 2 / (n - 1)
    denominator = min(kc - 1, rc - 1)
    return math.sqrt(phi2c / denominator) if denominator > 0 else 0.0


def find_proxies(
    data: pd.DataFrame,
    protected: list[str],
    candidates: list[str],
    *,
    threshold: float,
    bands: dict[str, tuple[float, ...]],
) -> list[dict[str, Any]]:
    """Candidate columns associated with a protected attribute (bias-corrected Cramér's V).

    Numeric columns are binned by ``bands`` if given, else into quintiles; missing values are a
    category of their own. Returns ``{"column", "protected_attribute", "cramers_v"}`` for every
    pair with V >= ``threshold``, strongest first.
    """
    data = data.reset_index(drop=True)
    encoded: dict[str, np.ndarray] = {}

    def codes_of(column: str) -> np.ndarray:
        if column not in encoded:
            encoded[column] = encode_column(column, data[column], bands, quintiles=True)[0]
        return encoded[column]

    found = []
    for column in candidates:
        for attribute in protected:
            if column == attribute:
                continue
            v = cramers_v(codes_of(column), codes_of(attribute))
            if v >= threshold:
                found.append({"column": column, "protected_attribute": attribute, "cramers_v": v})
    found.sort(key=lambda p: (-p["cramers_v"], p["column"], p["protected_attribute"]))
    return found
