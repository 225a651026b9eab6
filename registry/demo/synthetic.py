"""Synthetic datasets that look like what a UK council holds, and models fitted on them.

Three datasets mirror models councils have really built (see ``USE-CASES.md``): an Early
Help "front door" referral triage model for children's services, a hidden-HMO finder for
private-sector housing, and a business-rates review model. Every value is generated here;
no row describes a real person or property. Place names (postcode area ``NM``, the wards)
are invented, so that the demo never labels a real neighbourhood "high risk".

The functions are pure and deterministic: the same ``n`` and ``seed`` always give an
identical frame. Labels come from a logistic model of the risk factors whose intercept is
set so that a target share of rows is positive, with logistic noise on top. Each dataset
lives with its use case (``early_help``, ``hmo``, ``business_rates``); this module gathers
them by key.
"""

from __future__ import annotations

from collections.abc import Callable

# The registry's own vocabulary, which every demo dataset must keep to.
from ..records.datasets import CLASSIFICATIONS, COLUMN_TYPES
from .business_rates import SMALL_BUSINESS_LIMIT, business_rates
from .early_help import early_help_referrals
from .fitting import MODEL_KINDS, feature_columns, fit_demo_model
from .hmo import hmo_properties
from .spec import YES_NO, ColumnSpec, DemoDataset

__all__ = [
    "CLASSIFICATIONS",
    "COLUMN_TYPES",
    "DATASETS",
    "MODEL_KINDS",
    "SMALL_BUSINESS_LIMIT",
    "YES_NO",
    "ColumnSpec",
    "DemoDataset",
    "business_rates",
    "early_help_referrals",
    "feature_columns",
    "fit_demo_model",
    "hmo_properties",
]

DATASETS: dict[str, Callable[..., DemoDataset]] = {
    "early_help_referrals": early_help_referrals,
    "hmo_properties": hmo_properties,
    "business_rates": business_rates,
}
