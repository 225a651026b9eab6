"""The demo's synthetic council datasets and the models fitted on them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from registry.demo.synthetic import (
    CLASSIFICATIONS,
    COLUMN_TYPES,
    DATASETS,
    DemoDataset,
    business_rates,
    early_help_referrals,
    fit_demo_model,
    hmo_properties,
)

# (builder, default rows, lowest and highest acceptable positive rate)
EXPECTED = {
    "early_help_referrals": (early_help_referrals, 3000, 0.20, 0.25),
    "hmo_properties": (hmo_properties, 4000, 0.04, 0.06),
    "business_rates": (business_rates, 2500, 0.08, 0.12),
}
# The only columns where a blank is meaningful, with the most blanks expected: children
# under school age have no attendance; most homes have never been inspected.
NULLABLE = {
    ("early_help_referrals", "school_attendance_pct"): 0.35,
    ("hmo_properties", "years_since_inspection"): 0.85,
}


@pytest.fixture(scope="module", params=list(EXPECTED))
def ds(request: pytest.FixtureRequest) -> DemoDataset:
    return EXPECTED[request.param][0]()


@pytest.fixture(scope="module")
def early_help() -> DemoDataset:
    return early_help_referrals()


def positives(ds: DemoDataset, frame: pd.DataFrame | None = None) -> np.ndarray:
    frame = ds.frame if frame is None else frame
    return (frame[ds.label] == ds.positive_label).to_numpy()


def test_registry_lists_every_dataset() -> None:
    assert set(DATASETS) == set(EXPECTED)
    for key, build in DATASETS.items():
        assert build(n=50).key == key


def test_shape_and_label_rate(ds: DemoDataset) -> None:
    _, rows, low, high = EXPECTED[ds.key]
    assert len(ds.frame) == rows
    assert low <= positives(ds).mean() <= high


@pytest.mark.parametrize("key", list(EXPECTED))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_label_rate_holds_for_other_seeds_and_sizes(key: str, seed: int) -> None:
    build, _, low, high = EXPECTED[key]
    ds = build(n=2000, seed=seed)
    assert len(ds.frame) == 2000
    assert low <= positives(ds).mean() <= high


@pytest.mark.parametrize("key", list(EXPECTED))
def test_same_seed_gives_identical_frame(key: str) -> None:
    build = EXPECTED[key][0]
    first, second = build(n=500, seed=5), build(n=500, seed=5)
    pd.testing.assert_frame_equal(first.frame, second.frame)
    assert first.columns == second.columns
    assert not first.frame.equals(build(n=500, seed=6).frame)


def test_schema_matches_frame(ds: DemoDataset) -> None:
    names = [c.name for c in ds.columns]
    assert len(names) == len(set(names))
    assert names == list(ds.frame.columns)
    assert ds.classification in CLASSIFICATIONS
    assert ds.title and ds.description
    for spec in ds.columns:
        assert spec.type in COLUMN_TYPES, spec
        assert len(spec.description) > 15, spec
    label = ds.column(ds.label)
    assert label.type == "category"
    assert ds.positive_label in label.allowed


def test_categories_are_within_allowed(ds: DemoDataset) -> None:
    for spec in ds.columns:
        if spec.type != "category":
            assert spec.allowed is None, spec.name
            continue
        values = ds.frame[spec.name]
        assert spec.allowed, spec.name
        assert values.notna().all(), spec.name
        assert set(values) <= set(spec.allowed), (spec.name, set(values) - set(spec.allowed))


def test_numbers_within_declared_range(ds: DemoDataset) -> None:
    for spec in ds.columns:
        values = ds.frame[spec.name]
        if spec.type not in ("integer", "number"):
            assert values.notna().all(), spec.name
            continue
        assert spec.minimum is not None and spec.maximum is not None, spec.name
        assert pd.api.types.is_numeric_dtype(values), spec.name
        if spec.type == "integer":
            assert pd.api.types.is_integer_dtype(values), spec.name
        present = values.dropna()
        assert present.between(spec.minimum, spec.maximum).all(), spec.name
        missing = values.isna().mean()
        if (ds.key, spec.name) in NULLABLE:
            assert 0 < missing <= NULLABLE[ds.key, spec.name], (spec.name, missing)
        else:
            assert missing == 0, spec.name


def test_column_dtypes_and_identifiers(ds: DemoDataset) -> None:
    for spec in ds.columns:
        values = ds.frame[spec.name]
        if spec.type == "boolean":
            assert pd.api.types.is_bool_dtype(values), spec.name
        elif spec.type == "date":
            assert pd.api.types.is_datetime64_any_dtype(values), spec.name
        if spec.identifier:
            assert values.is_unique, spec.name
    assert any(c.identifier for c in ds.columns)


@pytest.mark.parametrize("kind", ["gbm", "logistic"])
def test_model_beats_chance_on_held_out_rows(ds: DemoDataset, kind: str) -> None:
    train, test = train_test_split(
        ds.frame, test_size=0.3, random_state=0, stratify=ds.frame[ds.label]
    )
    model, features = fit_demo_model(replace(ds, frame=train), kind=kind)
    scores = model.predict_proba(test[features])[:, 1]
    assert roc_auc_score(positives(ds, test), scores) >= 0.65


def test_features_exclude_label_identifiers_suppressed_and_protected(ds: DemoDataset) -> None:
    _, features = fit_demo_model(replace(ds, frame=ds.frame.head(400)), kind="logistic")
    assert features
    assert ds.label not in features
    for spec in ds.columns:
        if spec.identifier or spec.suppressed or spec.protected:
            assert spec.name not in features, spec.name
    assert set(features) <= set(ds.frame.columns)


def test_early_help_keeps_protected_columns_for_the_audit(early_help: DemoDataset) -> None:
    protected = {c.name for c in early_help.columns if c.protected}
    assert protected == {"ethnicity", "sex", "disability"}
    assert any(c.suppressed for c in early_help.columns)
    _, features = fit_demo_model(replace(early_help, frame=early_help.frame.head(400)))
    assert not protected & set(features)
    # Proxies stay in: that is what the bias audit is there to catch.
    assert {"free_school_meals", "postcode_district"} <= set(features)


def test_early_help_outcome_is_skewed_by_poverty(early_help: DemoDataset) -> None:
    frame = early_help.frame
    rate = pd.Series(positives(early_help)).groupby(frame["free_school_meals"].to_numpy()).mean()
    assert rate[True] - rate[False] >= 0.08
    assert rate[True] / rate[False] <= 3  # noticeable, not absurd


def test_early_help_values_are_plausible(early_help: DemoDataset) -> None:
    frame = early_help.frame
    under_school_age = frame["child_age"] < 4
    assert frame.loc[under_school_age, "school_attendance_pct"].isna().all()
    assert (frame.loc[under_school_age, "referral_source"] != "School").all()
    district = frame["home_postcode"].str.split(" ").str[0]
    assert (district == frame["postcode_district"]).all()
    assert frame["referral_date"].is_monotonic_increasing
    assert frame["case_reference"].is_monotonic_increasing


def test_property_records_are_consistent() -> None:
    hmo = hmo_properties(n=1000).frame
    assert (hmo["surnames_on_roll"] <= hmo["electors_registered"]).all()
    assert (~hmo["landlord_other_licences"] | (hmo["tenure"] != "Owner occupied")).all()
    rates = business_rates(n=1000).frame
    assert not (rates["small_business_relief"] & rates["vacant_property_relief"]).any()


def test_forest_grows_unlimited_trees() -> None:
    ds = business_rates(n=600)
    model, features = fit_demo_model(ds, kind="forest")
    forest = model[-1]
    assert len(forest.estimators_) == 100
    assert forest.max_depth is None
    assert max(tree.get_depth() for tree in forest.estimators_) > 3
    assert model.predict_proba(ds.frame[features].head(5)).shape == (5, 2)


def test_fit_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown model kind"):
        fit_demo_model(business_rates(n=100), kind="svm")
