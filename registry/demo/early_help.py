"""Early help: a referral triage model for a children's services front door.

Its synthetic referrals, and its load into the demo council, where the model's bias audit
fails and the version stays unapproved.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .council import Demo, risk
from .draws import draw_labels, pick, pick_indexed, pick_rows, unique_numbers, yes_no
from .spec import YES_NO, ColumnSpec, DemoDataset

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
    district_idx, district = pick_indexed(rng, names, [_DISTRICTS[d][1] for d in names], n)
    dep = dep_of[district_idx]

    # Referrals peak for babies and for teenagers.
    age_weights = np.array([9, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 9, 9, 8, 5], float)
    age = rng.choice(18, size=n, p=age_weights / age_weights.sum())
    sex = pick(rng, ("Female", "Male"), (0.48, 0.52), n)

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
    ethnicity = pick_rows(rng, _ETHNICITIES, eth_probs)
    disability = rng.random(n) < 0.09

    fsm = rng.random(n) < 0.10 + 0.55 * dep
    temp_accommodation = rng.random(n) < 0.015 + 0.05 * fsm + 0.04 * dep
    substance = rng.random(n) < 0.06 + 0.06 * fsm
    source = pick_rows(
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
    label = draw_labels(rng, logit, 0.22)

    year_start = pd.Timestamp("2023-04-01")
    # Case references are issued in date order.
    days = np.sort(rng.integers(0, 731, size=n))
    referral_date = year_start + pd.to_timedelta(days, unit="D")
    refs = unique_numbers(rng, n, 10_000, 4, shuffle=False)
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
            "needs_intervention": yes_no(label),
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


def load(d: Demo) -> None:
    ds = early_help_referrals()
    agreement = d.agreement(
        "DSA-EH-01",
        "Early help: police, schools and health share referral information",
        "Northmere Safeguarding Partnership",
        ["early_help_triage"],
        "Children Act 2004 s.10 (co-operation to improve well-being) and s.11; Working "
        "Together to Safeguard Children 2023",
        ["referrals", "school attendance", "health"],
        special=True,
    )
    dataset = d.dataset(ds, agreement, "early_help_triage", "Director of Children's Services")
    model = d.model(
        {
            "name": "early-help-triage",
            "title": "Early help referral triage",
            "purpose": "early_help_triage",
            "purpose_class": "individual_case_work",
            "purpose_description": "Helps the front door team see which referrals may need an "
            "early help assessment first.",
            "business_owner": "Head of Early Help",
            "builder": "in_house",
            "decision_role": "advisory",
            "population": "Children referred to the front door",
            "people_scored_per_year": 3000,
            "vulnerable_groups": True,
            "benefit": "Families who need help are seen sooner",
            "benefit_measure": "Days from referral to assessment, against the previous year",
            "summary": "A score from 0 to 1 that a referral needs an early help assessment. "
            "Social workers decide; the score is one factor among many.",
        }
    )
    d.dpia(
        "DPIA-EH-01",
        "Early help referral triage",
        [dataset],
        [model.name],
        "Screening: profiling of children using special category data; a DPIA is mandatory.",
        [
            risk(
                "Scores reflect past over-referral of poorer families",
                "Bias audit by ethnicity, sex and disability before approval; free school "
                "meals watched as a proxy",
                "reduced",
                (3, 3),
                (2, 2),
            ),
            risk(
                "Addresses of families escaping domestic abuse are disclosed",
                "Home postcode suppressed; never a feature",
                "eliminated",
                (1, 3),
                (1, 1),
            ),
        ],
    )
    d.approve(dataset, "Covered by DSA-EH-01 and DPIA-EH-01.")
    d.approve(model, "Purpose, owners and decision role recorded.")
    version = d.version(model, ds, dataset, "pilot", 0.5, ["ethnicity", "sex"])
    d.approve(version, "Reviewed the pilot terms.")
