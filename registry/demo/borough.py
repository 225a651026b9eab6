"""The invented borough the demo datasets describe: its wards and the council's area offices.

The names are made up so that the demo never labels a real neighbourhood "high risk".
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .spec import ColumnSpec, DemoDataset

# Wards: (share of properties, share privately rented, town-centre weighting for business
# premises).
WARDS: dict[str, tuple[float, float, float]] = {
    "Abbey": (0.09, 0.22, 0.6),
    "Brookfield": (0.10, 0.12, 0.2),
    "Castle": (0.11, 0.42, 1.0),
    "Hillside": (0.10, 0.10, 0.2),
    "Market": (0.09, 0.38, 1.0),
    "Northgate": (0.11, 0.35, 0.7),
    "Priory": (0.10, 0.15, 0.3),
    "Riverside": (0.11, 0.33, 0.5),
    "St Peter's": (0.09, 0.18, 0.4),
    "Westfield": (0.10, 0.14, 0.3),
}
AREA_OFFICES = ("North office", "Central office", "South office")


def with_area_office(ds: DemoDataset) -> DemoDataset:
    """Add the office that handled each case, allocated as cases arrive, to audit equal treatment
    across offices (property data hold no protected characteristics)."""
    frame = ds.frame.copy()
    frame["area_office"] = np.random.default_rng(5).choice(AREA_OFFICES, len(frame))
    column = ColumnSpec(
        "area_office", "category", "Council office that handled the case", allowed=AREA_OFFICES
    )
    return replace(ds, frame=frame, columns=(*ds.columns, column))
