"""Hidden HMOs: a finder for houses in multiple occupation that lack a licence.

Its synthetic properties, and its load into the demo council, where the model goes into use
and an inspections app is served scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..governance.actors import Actor
from ..records import PredictiveModel
from .borough import WARDS, with_area_office
from .council import Demo, risk
from .draws import draw_labels, pick_indexed, pick_rows, unique_numbers, yes_no
from .spec import YES_NO, ColumnSpec, DemoDataset

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
    ward_names = list(WARDS)
    ward_idx, ward = pick_indexed(rng, ward_names, [WARDS[w][0] for w in ward_names], n)
    private_share = np.array([WARDS[w][1] for w in ward_names])[ward_idx]

    true_tenure = pick_rows(
        rng,
        _TENURES,
        np.column_stack([0.85 - private_share, private_share, np.full(n, 0.15)]),
    )
    private = true_tenure == "Private rented"
    owner = true_tenure == "Owner occupied"
    type_probs = np.tile([0.30, 0.22, 0.10, 0.16, 0.08, 0.05, 0.09], (n, 1))
    type_probs[private] += [0.12, 0.0, -0.05, 0.05, 0.10, 0.0, -0.05]
    ptype = pick_rows(rng, _PROPERTY_TYPES, np.clip(type_probs, 0.01, None))
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
    label = draw_labels(rng, logit, 0.05)

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

    uprns = unique_numbers(rng, n, 100_070_000_000, 300)
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
            "unlicensed_hmo": yes_no(label),
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


def load(d: Demo) -> None:
    ds = hmo_properties(n=16000)  # half held out: enough positives per office to audit
    agreement = d.agreement(
        "DSA-HMO-02",
        "Electoral roll, council tax and complaints for HMO licensing",
        "Northmere Electoral Services",
        ["hmo_licensing_enforcement"],
        "Housing Act 2004 ss.55-78 and s.235; Representation of the People Regulations 2001 "
        "reg. 115",
        ["electoral roll counts", "council tax", "complaints"],
    )
    dataset = d.dataset(
        with_area_office(ds), agreement, "hmo_licensing_enforcement", "Head of Private Housing"
    )
    model = d.model(
        {
            "name": "hmo-finder",
            "title": "Unlicensed HMO finder",
            "purpose": "hmo_licensing_enforcement",
            "purpose_class": "individual_case_work",
            # what the inspectors' tool reports on each score
            "outcome_vocabulary": ["inspection booked", "no action"],
            "purpose_description": "Ranks properties for inspection as possible unlicensed houses "
            "in multiple occupation.",
            "business_owner": "Head of Private Housing",
            "builder": "in_house",
            "decision_role": "advisory",
            "population": "Residential properties in the borough",
            "people_scored_per_year": 4000,
            "benefit": "More inspections find an unlicensed HMO",
            "benefit_measure": "Hit rate of inspections (was 1 in 200 visits)",
            "summary": "A score from 0 to 1 that a property is an unlicensed HMO. Inspectors "
            "choose where to go; local knowledge comes first.",
        }
    )
    d.dpia(
        "DPIA-HMO-02",
        "Unlicensed HMO finder",
        [dataset],
        [model.name],
        "Screening: matching electoral roll data to properties; a DPIA is required.",
        [
            risk(
                "Tenants in flagged homes face unwarranted visits",
                "Inspectors confirm with local knowledge before visiting",
                "reduced",
                (2, 2),
                (1, 2),
            )
        ],
    )
    d.approve(dataset, "Covered by DSA-HMO-02 and DPIA-HMO-02.")
    d.approve(model, "Purpose and owners recorded.")
    version = d.version(model, ds, dataset, "production", 0.1, ["area_office"])
    if d.approve(version, "Audit across wards reviewed with the housing team."):
        client = d.client("housing-inspections-app", ["hmo-finder"], ["hmo_licensing_enforcement"])
        _serve_inspections(d, client, ds.frame, 300)
        d.check_drift(version)


def _serve_inspections(d: Demo, client: Actor, frame: pd.DataFrame, n: int) -> None:
    """Score ``n`` properties for the inspections app and record outcomes on a third of them,
    one in three of those an override, so the model's pages have receipts to show."""
    from ..serving import receipts, scoring

    model, purpose = "hmo-finder", "hmo_licensing_enforcement"
    version = d.session.query(PredictiveModel).filter_by(name=model).one().versions[-1]
    names = [f["name"] for f in version.feature_schema]
    rows = frame.sample(n=n, random_state=1)[names]
    for i, (_, row) in enumerate(rows.iterrows()):
        case = {
            k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v)
            for k, v in row.items()
        }
        result = scoring.score(
            d.session,
            client,
            model,
            purpose,
            [case],
            d.services.policy,
            d.services.store,
            d.now,
        )["results"][0]
        if i % 3 == 0:
            overrode = i % 9 == 0
            receipts.record_outcome(
                d.session,
                client,
                result["receipt_id"],
                "inspection booked" if result["score"] >= 0.5 or overrode else "no action",
                overrode,
                "Inspector knows the landlord licensed it last month" if overrode else None,
                d.now,
                d.services.policy,
            )
    d.lines.append(f"  {model}: {n} scores served to {client.name}, outcomes on a third")
