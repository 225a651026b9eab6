"""Synthetic datasets that look like what a UK council holds, and models fitted on them.

Three datasets mirror models councils have really built (see ``USE-CASES.md``): an Early
Help "front door" referral triage model for children's services, a hidden-HMO finder for
private-sector housing, and a business-rates review model. Every value is generated here;
no row describes a real person or property. Place names (postcode area ``NM``, the wards)
are invented, so that the demo never labels a real neighbourhood "high risk".

The functions are pure and deterministic: the same ``n`` and ``seed`` always give an
identical frame. Labels come from a logistic model of the risk factors whose intercept is
set so that a target share of rows is positive, with logistic noise on top.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

COLUMN_TYPES = ("integer", "number", "category", "boolean", "date", "string")
CLASSIFICATIONS = (
    "personal",
    "special_category",
    "pseudonymised",
    "anonymised",
    "synthetic",
    "non_personal",
)
MODEL_KINDS = ("gbm", "logistic", "forest")
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


# --------------------------------------------------------------------------- helpers


def _draw_labels(rng: np.random.Generator, logit: np.ndarray, rate: float) -> np.ndarray:
    """Labels from a latent-variable logistic model with exactly ``rate`` positives.

    Each row's risk is ``logit`` plus standard logistic noise; the top ``rate`` share of
    rows by risk are positive, which is a logistic model whose intercept is fixed by the
    rate.
    """
    risk = logit + rng.logistic(size=len(logit))
    k = round(rate * len(logit))
    positive = np.zeros(len(logit), dtype=bool)
    positive[np.argsort(-risk, kind="stable")[:k]] = True
    return positive


def _pick(rng: np.random.Generator, options: Sequence[str], weights: Sequence[float], n: int):
    p = np.asarray(weights, dtype=float)
    return rng.choice(np.asarray(options, dtype=object), size=n, p=p / p.sum())


def _pick_rows(rng: np.random.Generator, options: Sequence[str], probs: np.ndarray) -> np.ndarray:
    """One draw per row from per-row probabilities ``probs`` (shape n × len(options))."""
    probs = probs / probs.sum(axis=1, keepdims=True)
    idx = (probs.cumsum(axis=1) < rng.random((len(probs), 1))).sum(axis=1)
    return np.asarray(options, dtype=object)[np.minimum(idx, len(options) - 1)]


def _unique_numbers(
    rng: np.random.Generator, n: int, start: int, mean_gap: int, shuffle: bool = True
) -> np.ndarray:
    """``n`` distinct integers above ``start``, increasing unless ``shuffle``."""
    numbers = start + np.cumsum(rng.integers(1, 2 * mean_gap, size=n))
    return rng.permutation(numbers) if shuffle else numbers


def _yes_no(flags: np.ndarray) -> np.ndarray:
    return np.where(flags, "yes", "no").astype(object)


# --------------------------------------------------------------- early help referrals

# Postcode districts of an invented town (area "NM"), with a deprivation score in [0, 1]
# (roughly the share of its neighbourhoods in the most deprived national quintile) and
# their share of referrals.
_DISTRICTS: dict[str, tuple[float, float]] = {
    "NM1": (0.85, 0.16),
    "NM2": (0.70, 0.14),
    "NM3": (0.55, 0.13),
    "NM4": (0.40, 0.11),
    "NM5": (0.30, 0.10),
    "NM6": (0.20, 0.09),
    "NM7": (0.65, 0.12),
    "NM8": (0.10, 0.07),
    "NM9": (0.15, 0.08),
}
# ONS 2021 Census broad ethnic groups (England and Wales), plus the case-management
# system's "Not recorded".
_ETHNICITIES = (
    "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed or Multiple ethnic groups",
    "White",
    "Other ethnic group",
    "Not recorded",
)
_SOURCES = ("Police", "School", "Health", "Self/family", "LA housing", "Other")
_SOURCE_EFFECT = dict(zip(_SOURCES, (0.35, 0.0, 0.25, -0.35, 0.2, -0.2), strict=True))
# Postcode inward codes never use C, I, K, M, O or V.
_INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)


def early_help_referrals(n: int = 3000, seed: int = 7) -> DemoDataset:
    """Referrals to a children's services Early Help front door over two financial years.

    Label ``needs_intervention``: whether the referral led to an assessment and a plan
    (~22 % "yes"). It follows the risk factors, but also, as real child-welfare data does,
    the family's poverty (free school meals, district): the recorded outcome reflects more
    scrutiny of poorer families, not only more need. Ethnicity is more diverse in the more
    deprived districts, so a model that never sees ethnicity still scores groups differently.
    """
    rng = np.random.default_rng(seed)
    names = list(_DISTRICTS)
    dep_of = np.array([_DISTRICTS[d][0] for d in names])
    district_idx = rng.choice(len(names), size=n, p=[_DISTRICTS[d][1] for d in names])
    district = np.asarray(names, dtype=object)[district_idx]
    dep = dep_of[district_idx]

    # Referrals peak for babies and for teenagers.
    age_weights = np.array([9, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 9, 9, 8, 5], float)
    age = rng.choice(18, size=n, p=age_weights / age_weights.sum())
    sex = _pick(rng, ("Female", "Male"), (0.48, 0.52), n)

    white = 0.86 - 0.30 * dep
    eth_probs = np.column_stack(
        [
            0.05 + 0.12 * dep,
            0.02 + 0.08 * dep,
            0.04 + 0.05 * dep,
            white,
            np.full(n, 0.015) + 0.03 * dep,
            np.full(n, 0.02),
        ]
    )
    ethnicity = _pick_rows(rng, _ETHNICITIES, eth_probs)
    disability = rng.random(n) < 0.09

    fsm = rng.random(n) < 0.10 + 0.55 * dep
    temp_accommodation = rng.random(n) < 0.015 + 0.05 * fsm + 0.04 * dep
    substance = rng.random(n) < 0.06 + 0.06 * fsm
    source = _pick_rows(
        rng,
        _SOURCES,
        np.tile([0.28, 0.22, 0.15, 0.10, 0.07, 0.18], (n, 1))
        + np.column_stack([np.zeros(n)] * 4 + [0.08 * temp_accommodation, np.zeros(n)]),
    )
    school_age = (age >= 4) & (age <= 17)
    source = np.where((source == "School") & ~school_age, "Health", source)
    police = source == "Police"
    da_notifications = np.minimum(rng.poisson(0.25 + 1.4 * police + 0.4 * substance), 12)
    previous_referrals = np.minimum(rng.poisson(0.4 + 0.08 * age + 0.8 * dep), 20)
    cp_plan = rng.random(n) < 0.03 + 0.04 * np.minimum(previous_referrals, 4)

    attendance_mean = 94 - 5 * substance - 5 * temp_accommodation - 3 * fsm - 4 * (age >= 13)
    absence = rng.gamma(1.3, np.maximum(100 - attendance_mean, 1) / 1.3)
    attendance = np.clip(np.round(100 - absence, 1), 0, 100)
    attendance_missing = ~school_age | (rng.random(n) < 0.03)
    attendance = np.where(attendance_missing, np.nan, attendance)

    attendance_gap = np.clip(90 - np.nan_to_num(attendance, nan=90.0), 0, 40)
    logit = (
        0.42 * np.minimum(previous_referrals, 6)
        + 1.4 * cp_plan
        + 1.3 * substance
        + 0.55 * np.minimum(da_notifications, 5)
        + 0.9 * temp_accommodation
        + 0.07 * attendance_gap
        + 0.8 * (age < 2)
        + 0.3 * disability
        + pd.Series(source).map(_SOURCE_EFFECT).to_numpy(dtype=float)
        + 0.7 * fsm
        + 0.9 * dep
    )
    label = _draw_labels(rng, logit, 0.22)

    year_start = pd.Timestamp("2023-04-01")
    # Case references are issued in date order.
    days = np.sort(rng.integers(0, 731, size=n))
    referral_date = year_start + pd.to_timedelta(days, unit="D")
    refs = _unique_numbers(rng, n, 10_000, 4, shuffle=False)
    inward = (
        rng.integers(1, 10, size=n).astype(str).astype(object)
        + rng.choice(_INWARD_LETTERS, size=n)
        + rng.choice(_INWARD_LETTERS, size=n)
    )

    frame = pd.DataFrame(
        {
            "case_reference": [f"EH-{r:06d}" for r in refs],
            "referral_date": referral_date,
            "child_age": age.astype("int64"),
            "sex": sex,
            "ethnicity": ethnicity,
            "disability": disability,
            "postcode_district": district,
            "home_postcode": district + " " + inward,
            "free_school_meals": fsm,
            "referral_source": source.astype(object),
            "previous_referrals": previous_referrals.astype("int64"),
            "previous_cp_plan": cp_plan,
            "school_attendance_pct": attendance,
            "temporary_accommodation": temp_accommodation,
            "parental_substance_misuse": substance,
            "domestic_abuse_notifications": da_notifications.astype("int64"),
            "needs_intervention": _yes_no(label),
        }
    )

    columns = (
        ColumnSpec(
            "case_reference",
            "string",
            "Pseudonymous case reference; the name and date of birth stay in the case system",
            identifier=True,
        ),
        ColumnSpec("referral_date", "date", "Date the referral reached the front door"),
        # Not flagged protected: the Equality Act's age protection in services and public
        # functions does not cover under-18s (s.28), and age is a genuine risk factor here.
        ColumnSpec(
            "child_age", "integer", "Age of the child in years at referral", minimum=0, maximum=17
        ),
        ColumnSpec(
            "sex", "category", "Sex of the child", protected=True, allowed=("Female", "Male")
        ),
        ColumnSpec(
            "ethnicity",
            "category",
            "Ethnic group of the child (ONS 2021 Census broad groups)",
            protected=True,
            allowed=_ETHNICITIES,
        ),
        ColumnSpec(
            "disability",
            "boolean",
            "The child has a recorded disability",
            protected=True,
        ),
        ColumnSpec(
            "postcode_district",
            "category",
            "Postcode district of the child's home (first half of the postcode)",
            proxy=True,
            allowed=tuple(names),
        ),
        ColumnSpec(
            "home_postcode",
            "string",
            "Full home postcode: never shown, as some families are escaping domestic abuse",
            suppressed=True,
        ),
        ColumnSpec(
            "free_school_meals",
            "boolean",
            "The child is eligible for free school meals (a marker of low household income)",
            proxy=True,
        ),
        ColumnSpec(
            "referral_source",
            "category",
            "Who made the referral",
            allowed=_SOURCES,
        ),
        ColumnSpec(
            "previous_referrals",
            "integer",
            "Number of previous referrals to children's services",
            minimum=0,
            maximum=20,
        ),
        ColumnSpec(
            "previous_cp_plan",
            "boolean",
            "The child has been on a child protection plan before",
        ),
        ColumnSpec(
            "school_attendance_pct",
            "number",
            "School attendance this academic year, in per cent (blank if under school age "
            "or not yet returned by the school)",
            minimum=0,
            maximum=100,
        ),
        ColumnSpec(
            "temporary_accommodation",
            "boolean",
            "The household is living in temporary accommodation",
        ),
        ColumnSpec(
            "parental_substance_misuse",
            "boolean",
            "A parent or carer is known to misuse drugs or alcohol",
        ),
        ColumnSpec(
            "domestic_abuse_notifications",
            "integer",
            "Police notifications of domestic abuse at the home in the last 12 months",
            minimum=0,
            maximum=12,
        ),
        ColumnSpec(
            "needs_intervention",
            "category",
            "The referral led to an assessment and a support or protection plan",
            allowed=YES_NO,
        ),
    )
    return DemoDataset(
        key="early_help_referrals",
        title="Early Help front door referrals, April 2023 to March 2025",
        description=(
            "Referrals received by the children's services front door, one row per "
            "referral, pseudonymised: names and dates of birth replaced by a case "
            "reference. Holds special category data (ethnicity, disability) kept for "
            "fairness monitoring only. Synthetic demo data."
        ),
        classification="special_category",
        label="needs_intervention",
        positive_label="yes",
        columns=columns,
        frame=frame,
    )


# ------------------------------------------------------------------ HMO properties

# Wards of the invented borough: (share of properties, share privately rented,
# town-centre weighting for business premises).
_WARDS: dict[str, tuple[float, float, float]] = {
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
_PROPERTY_TYPES = (
    "Terraced house",
    "Semi-detached house",
    "Detached house",
    "Flat (purpose-built)",
    "Flat (converted)",
    "Maisonette",
    "Bungalow",
)
_TENURES = ("Owner occupied", "Private rented", "Social rented")
_BANDS = ("A", "B", "C", "D", "E", "F", "G", "H")


def hmo_properties(n: int = 4000, seed: int = 11) -> DemoDataset:
    """Residential properties, for finding houses in multiple occupation that lack a licence.

    Label ``unlicensed_hmo``: an inspection found an HMO needing a licence it did not have
    (~5 % "yes"). The signs are the ones inspectors use: many unrelated adults on the
    electoral roll, noise and refuse complaints, large privately rented houses.
    """
    # Classified "personal": there are no names, but a UPRN pins each row to one home, so
    # the electoral-roll counts describe identifiable occupants and the licensing flag
    # describes an identifiable landlord, and the purpose is enforcement against them.
    rng = np.random.default_rng(seed)
    ward_names = list(_WARDS)
    ward_idx = rng.choice(len(ward_names), size=n, p=[_WARDS[w][0] for w in ward_names])
    ward = np.asarray(ward_names, dtype=object)[ward_idx]
    private_share = np.array([_WARDS[w][1] for w in ward_names])[ward_idx]

    true_tenure = _pick_rows(
        rng,
        _TENURES,
        np.column_stack([0.85 - private_share, private_share, np.full(n, 0.15)]),
    )
    private = true_tenure == "Private rented"
    owner = true_tenure == "Owner occupied"
    type_probs = np.tile([0.30, 0.22, 0.10, 0.16, 0.08, 0.05, 0.09], (n, 1))
    type_probs[private] += [0.12, 0.0, -0.05, 0.05, 0.10, 0.0, -0.05]
    ptype = _pick_rows(rng, _PROPERTY_TYPES, np.clip(type_probs, 0.01, None))
    flat = np.isin(ptype, ("Flat (purpose-built)", "Flat (converted)", "Maisonette"))
    detached = ptype == "Detached house"
    base_beds = np.select([flat, detached, ptype == "Bungalow"], [1.3, 3.8, 2.1], 2.9)
    bedrooms = np.clip(np.round(base_beds + rng.normal(0, 0.9, n)), 1, 8).astype("int64")
    band_idx = np.clip(
        np.round(bedrooms * 0.9 - 0.8 * flat + 1.2 * detached - 1.0 + rng.normal(0, 0.9, n)),
        0,
        7,
    ).astype(int)
    band = np.asarray(_BANDS, dtype=object)[band_idx]

    logit = (
        -4.0 * owner
        - 7.0 * (true_tenure == "Social rented")
        + 1.0 * np.clip(bedrooms - 2, 0, 4)
        + 0.7 * np.isin(ptype, ("Terraced house", "Flat (converted)"))
        + 1.5 * (private_share - 0.25)
    )
    label = _draw_labels(rng, logit, 0.05)

    # The council's records lag reality: many lettings are unknown to it, and a hidden HMO
    # is hidden precisely because its letting is not on record. Where the letting is
    # unknown, so is the landlord.
    unknown_letting = private & (rng.random(n) < 0.25 + 0.20 * label)
    tenure = np.where(unknown_letting, "Owner occupied", true_tenure).astype(object)
    known_landlord = (tenure != "Owner occupied") & (true_tenure != "Social rented")
    landlord_licences = known_landlord & (rng.random(n) < 0.22 + 0.25 * label)

    # Symptoms. Many HMO tenants are not registered to vote, so the roll undercounts them;
    # small shared houses (fewer than five sharers need no licence) and blended families
    # look a little like HMOs.
    sharers = private & ~label & (bedrooms >= 3) & (rng.random(n) < 0.15)
    adults = 1 + rng.poisson(0.35 + 0.2 * np.minimum(bedrooms, 4))
    household = rng.binomial(adults, np.where(private, 0.65, 0.88))
    occupants = bedrooms + rng.poisson(0.8, n)
    hmo_electors = rng.binomial(occupants, 0.5)
    share_electors = rng.binomial(np.minimum(bedrooms, 4), 0.6)
    electors = np.select([label, sharers], [hmo_electors, share_electors], household)
    electors = electors.clip(0, 15).astype("int64")
    family_surnames = 1 + rng.binomial(1, 0.3, n) + rng.binomial(1, 0.06, n)
    unrelated_surnames = np.maximum(1, rng.binomial(electors, 0.85))
    surnames = np.where(label | sharers, unrelated_surnames, family_surnames)
    surnames = np.minimum(electors, surnames).astype("int64")
    complaints_base = rng.poisson(0.12 + 0.15 * private, n)
    complaints = complaints_base + label * rng.poisson(0.6, n) + sharers * rng.poisson(0.3, n)
    complaints = np.minimum(complaints, 20).astype("int64")

    never_share = np.select(
        [tenure == "Owner occupied", tenure == "Private rented"], [0.92, 0.45], 0.25
    )
    never_inspected = rng.random(n) < never_share
    years = np.minimum(rng.exponential(4.0, n) + 1.5 * label, 30).round(0)
    years_since_inspection = np.where(never_inspected, np.nan, years)

    uprns = _unique_numbers(rng, n, 100_070_000_000, 300)
    frame = pd.DataFrame(
        {
            "uprn": [str(u) for u in uprns],
            "ward": ward,
            "property_type": ptype,
            "bedrooms": bedrooms,
            "council_tax_band": band,
            "tenure": tenure,
            "electors_registered": electors,
            "surnames_on_roll": surnames,
            "complaints_2y": complaints,
            "years_since_inspection": years_since_inspection,
            "landlord_other_licences": landlord_licences,
            "unlicensed_hmo": _yes_no(label),
        }
    )
    columns = (
        ColumnSpec(
            "uprn",
            "string",
            "Unique Property Reference Number of the address",
            identifier=True,
        ),
        ColumnSpec(
            "ward",
            "category",
            "Electoral ward the property is in",
            proxy=True,
            allowed=tuple(ward_names),
        ),
        ColumnSpec("property_type", "category", "Type of building", allowed=_PROPERTY_TYPES),
        ColumnSpec("bedrooms", "integer", "Number of bedrooms on record", minimum=1, maximum=8),
        ColumnSpec(
            "council_tax_band", "category", "Council tax valuation band (A to H)", allowed=_BANDS
        ),
        ColumnSpec(
            "tenure",
            "category",
            "Who lives there: owners, private or social tenants",
            allowed=_TENURES,
        ),
        ColumnSpec(
            "electors_registered",
            "integer",
            "Number of adults registered on the electoral roll at the address",
            minimum=0,
            maximum=15,
        ),
        ColumnSpec(
            "surnames_on_roll",
            "integer",
            "Number of different surnames among those registered to vote at the address",
            minimum=0,
            maximum=15,
        ),
        ColumnSpec(
            "complaints_2y",
            "integer",
            "Noise and refuse complaints about the address in the last two years",
            minimum=0,
            maximum=20,
        ),
        ColumnSpec(
            "years_since_inspection",
            "number",
            "Years since the council last inspected the property (blank if never inspected)",
            minimum=0,
            maximum=30,
        ),
        ColumnSpec(
            "landlord_other_licences",
            "boolean",
            "The landlord already holds other property licences from the council",
        ),
        ColumnSpec(
            "unlicensed_hmo",
            "category",
            "An inspection found a house in multiple occupation without the licence it needs",
            allowed=YES_NO,
        ),
    )
    return DemoDataset(
        key="hmo_properties",
        title="Residential properties for HMO licensing review",
        description=(
            "One row per residential address, joining the address gazetteer, council tax, "
            "the electoral roll (counts only), environmental health complaints and "
            "licensing records, with the outcome of past inspections. Synthetic demo data."
        ),
        classification="personal",
        label="unlicensed_hmo",
        positive_label="yes",
        columns=columns,
        frame=frame,
    )


# ------------------------------------------------------------------ business rates

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
    cat_idx = rng.choice(len(cats), size=n, p=[_BUSINESS[c][0] for c in cats])
    category = np.asarray(cats, dtype=object)[cat_idx]
    ward_names = list(_WARDS)
    centre = np.array([_WARDS[w][2] for w in ward_names])
    ward_idx = rng.choice(len(ward_names), size=n, p=centre / centre.sum())
    ward = np.asarray(ward_names, dtype=object)[ward_idx]

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
    label = _draw_labels(rng, logit, 0.10)

    refs = _unique_numbers(rng, n, 1_000_000, 7)
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
            "wrong_rates": _yes_no(label),
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


DATASETS: dict[str, Callable[..., DemoDataset]] = {
    "early_help_referrals": early_help_referrals,
    "hmo_properties": hmo_properties,
    "business_rates": business_rates,
}


# -------------------------------------------------------------------------- models


def feature_columns(ds: DemoDataset) -> list[str]:
    """Columns a demo model may use: not the label, identifiers, suppressed or protected
    columns (protected ones stay in the frame for the bias audit), nor free text or dates."""
    return [
        c.name
        for c in ds.columns
        if c.name != ds.label
        and not (c.identifier or c.suppressed or c.protected)
        and c.type in ("integer", "number", "boolean", "category")
    ]


def fit_demo_model(ds: DemoDataset, kind: str = "gbm", seed: int = 0) -> tuple[Pipeline, list[str]]:
    """Fit a preprocessing + classifier pipeline on ``ds`` and return it with its features.

    The classifier is trained on 1 = ``ds.positive_label``, so ``predict_proba(X)[:, 1]`` is
    the probability of the positive label. ``kind`` is "gbm" (gradient boosting, 100 trees
    of depth 3), "logistic" or "forest" (100 unlimited-depth trees: large and slow to
    score, which the demo uses to break the latency budget).
    """
    if ds.label is None or ds.positive_label is None:
        raise ValueError(f"dataset {ds.key!r} has no label to fit on")
    if kind == "gbm":
        classifier = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=seed)
    elif kind == "logistic":
        classifier = LogisticRegression(max_iter=1000)
    elif kind == "forest":
        classifier = RandomForestClassifier(n_estimators=100, max_depth=None, random_state=seed)
    else:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {MODEL_KINDS}")

    features = feature_columns(ds)
    types = {c.name: c.type for c in ds.columns}
    numeric = [f for f in features if types[f] in ("integer", "number", "boolean")]
    categorical = [f for f in features if types[f] == "category"]
    transformers = []
    if numeric:
        transformers.append(
            (
                "num",
                Pipeline(
                    [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
                ),
                numeric,
            )
        )
    if categorical:
        transformers.append(
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        (
                            "onehot",
                            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                        ),
                    ]
                ),
                categorical,
            )
        )
    pipeline = Pipeline(
        [("preprocess", ColumnTransformer(transformers)), ("classifier", classifier)]
    )
    y = (ds.frame[ds.label] == ds.positive_label).astype(int).to_numpy()
    pipeline.fit(ds.frame[features], y)
    return pipeline, features
