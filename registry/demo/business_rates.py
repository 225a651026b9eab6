"""Business rates: a supplier's model that flags properties paying the wrong rates.

Its synthetic rating list, and its load into the demo council, where the model runs as a
pilot under an agreement that is about to expire.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .borough import WARDS, with_area_office
from .council import Demo, risk
from .draws import draw_labels, pick_indexed, unique_numbers, yes_no
from .spec import YES_NO, ColumnSpec, DemoDataset

# Valuation Office Agency style descriptions: (share, median floor area m², £ per m²).
_BUSINESS: dict[str, tuple[float, float, float]] = {
    "Shop and premises": (0.30, 80, 160),
    "Office and premises": (0.20, 150, 110),
    "Warehouse and premises": (0.10, 600, 45),
    "Workshop and premises": (0.10, 250, 50),
    "Restaurant and premises": (0.07, 120, 140),
    "Public house and premises": (0.04, 300, 85),
    "Hotel and premises": (0.03, 900, 60),
    "Car park and premises": (0.03, 1500, 12),
    "Other": (0.13, 200, 60),
}
SMALL_BUSINESS_LIMIT = 15_000  # rateable value below which small business rate relief applies


def business_rates(n: int = 2500, seed: int = 13) -> DemoDataset:
    """Non-domestic properties on the business rates list, for targeting rates reviews.

    Label ``wrong_rates``: a review found the property was billed the wrong amount (~10 %
    "yes") — relief claimed without entitlement, a "vacant" property in use, or a rateable
    value left behind by changes to the building.
    """
    # Non-personal: properties and the businesses occupying them, no individuals.
    rng = np.random.default_rng(seed)
    cats = list(_BUSINESS)
    cat_idx, category = pick_indexed(rng, cats, [_BUSINESS[c][0] for c in cats], n)
    ward_names = list(WARDS)
    centre = np.array([WARDS[w][2] for w in ward_names])
    ward_idx, ward = pick_indexed(rng, ward_names, centre / centre.sum(), n)

    median_area = np.array([_BUSINESS[c][1] for c in cats])[cat_idx]
    area = np.clip(np.round(median_area * rng.lognormal(0, 0.6, n), 1), 8, 50_000)
    rate_m2 = np.array([_BUSINESS[c][2] for c in cats])[cat_idx] * (0.7 + 0.5 * centre[ward_idx])
    expected_rv = area * rate_m2
    years_since_valuation = np.minimum(rng.geometric(0.22, n) - 1, 20).astype("int64")
    change_of_occupier = rng.random(n) < 0.22
    # Alterations since the last valuation leave the recorded value behind the building.
    altered = rng.random(n) < 0.02 + 0.012 * years_since_valuation + 0.04 * change_of_occupier
    recorded = expected_rv * rng.lognormal(0, 0.2, n) * np.where(altered, 0.65, 1.0)
    rateable_value = np.clip(np.round(recorded / 50) * 50, 500, 5_000_000)

    vacant = rng.random(n) < 0.07 + 0.06 * change_of_occupier
    small = rateable_value < SMALL_BUSINESS_LIMIT
    sbrr = ~vacant & (rng.random(n) < np.where(small, 0.80, 0.04))

    logit = (
        2.5 * (sbrr & ~small)
        + 1.2 * (sbrr & (rateable_value >= 12_000))
        + 2.0 * vacant
        + 1.0 * (vacant & change_of_occupier)
        + 2.4 * altered
        + 0.10 * years_since_valuation
        + 0.6 * change_of_occupier
    )
    label = draw_labels(rng, logit, 0.10)

    refs = unique_numbers(rng, n, 1_000_000, 7)
    frame = pd.DataFrame(
        {
            "property_reference": [f"NDR{r:07d}" for r in refs],
            "ward": ward,
            "business_category": category,
            "rateable_value": rateable_value,
            "floor_area_m2": area,
            "years_since_valuation": years_since_valuation,
            "change_of_occupier_2y": change_of_occupier,
            "small_business_relief": sbrr,
            "vacant_property_relief": vacant,
            "wrong_rates": yes_no(label),
        }
    )
    columns = (
        ColumnSpec(
            "property_reference",
            "string",
            "The council's business rates property reference",
            identifier=True,
        ),
        ColumnSpec(
            "ward", "category", "Electoral ward the property is in", allowed=tuple(ward_names)
        ),
        ColumnSpec(
            "business_category",
            "category",
            "What the property is used for, as described by the Valuation Office Agency",
            allowed=tuple(cats),
        ),
        ColumnSpec(
            "rateable_value",
            "number",
            "Rateable value in pounds: the Valuation Office's estimate of the yearly rent",
            minimum=500,
            maximum=5_000_000,
        ),
        ColumnSpec(
            "floor_area_m2", "number", "Floor area in square metres", minimum=8, maximum=50_000
        ),
        ColumnSpec(
            "years_since_valuation",
            "integer",
            "Years since the Valuation Office last reviewed the rateable value",
            minimum=0,
            maximum=20,
        ),
        ColumnSpec(
            "change_of_occupier_2y",
            "boolean",
            "A different business has taken over the property in the last two years",
        ),
        ColumnSpec(
            "small_business_relief",
            "boolean",
            "Small business rate relief is being claimed",
        ),
        ColumnSpec(
            "vacant_property_relief",
            "boolean",
            "Relief for an empty property is being claimed",
        ),
        ColumnSpec(
            "wrong_rates",
            "category",
            "A review found the property was paying the wrong amount of business rates",
            allowed=YES_NO,
        ),
    )
    return DemoDataset(
        key="business_rates",
        title="Business rates list with review outcomes",
        description=(
            "One row per non-domestic property on the rating list, with reliefs claimed "
            "and the outcome of past rates reviews. Synthetic demo data."
        ),
        classification="non_personal",
        label="wrong_rates",
        positive_label="yes",
        columns=columns,
        frame=frame,
    )


def load(d: Demo) -> None:
    ds = business_rates(n=10000)  # half held out: enough positives per office to audit
    agreement = d.agreement(
        "DSA-BR-03",
        "Valuation Office list and relief records for business rates review",
        "Valuation Office Agency",
        ["business_rates_accuracy"],
        "Local Government Finance Act 1988 s.63A; Commissioners for Revenue and Customs Act "
        "2005 s.18(2)",
        ["rating list", "reliefs"],
        ends_in=21,
    )
    dataset = d.dataset(
        with_area_office(ds), agreement, "business_rates_accuracy", "Head of Revenues"
    )
    model = d.model(
        {
            "name": "rates-review",
            "title": "Business rates review list",
            "purpose": "business_rates_accuracy",
            "purpose_class": "individual_case_work",
            "purpose_description": "Flags business properties that may be paying the wrong rates.",
            "business_owner": "Head of Revenues",
            "builder": "supplier",
            "supplier": "Ratewise Analytics Ltd",
            "code_owner": "Northmere Borough Council",
            "weights_owner": "Northmere Borough Council",
            "data_owner": "Valuation Office Agency",
            "exit_terms": "Code, weights and documentation transfer to the council on exit",
            "decision_role": "advisory",
            "population": "Non-domestic properties in the borough",
            "people_scored_per_year": 2500,
            "benefit": "Fewer properties on the wrong rates",
            "benefit_measure": "Rates recovered per inspection, against last year",
            "summary": "A score from 0 to 1 that a property's rates need review. Officers check "
            "every case before contacting the business.",
        }
    )
    # Non-personal data need no DPIA, so the dataset is approved before the DPIA is done.
    d.approve(dataset, "Non-personal; covered by DSA-BR-03.")
    d.dpia(
        "DPIA-BR-03",
        "Business rates review list",
        [dataset],
        [model.name],
        "Screening: mostly non-personal data; sole traders may be identifiable.",
        [
            risk(
                "Sole traders identified from property data",
                "No names held; officers contact the ratepayer of record",
                "reduced",
                (1, 2),
                (1, 1),
            )
        ],
    )
    d.approve(model, "Supplier terms and exit recorded.")
    version = d.version(model, ds, dataset, "pilot", 0.1, ["area_office"])
    if d.approve(version, "Pilot for one quarter, capped at 2,000 cases.", by="gus.hale"):
        d.client("rates-review-tool", ["rates-review"], ["business_rates_accuracy"])
