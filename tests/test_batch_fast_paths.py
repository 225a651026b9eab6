"""The shortcuts scoring takes give exactly the answers of the plain code they stand in for:
the compiled feature check, the points a statement says, sealing a batch's values in one pass,
the score body's plain shape read without the schema, and a model's non-finite output refused
before anything is written."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from registry.analysis.explain import Explainer, FeatureSpec
from registry.analysis.statements import points
from registry.api.scoring import _SCORE_IN, score_arguments
from registry.governance.errors import Invalid
from registry.platform import sealing
from registry.serving.features import Checker, validate

SCHEMA = [
    {"name": "age", "type": "integer", "minimum": 18, "maximum": 100},
    {"name": "amount", "type": "number", "minimum": 0},
    {"name": "housing", "type": "category", "allowed": ["own", "rent", "free"]},
    {"name": "note", "type": "category"},
    {"name": "owner", "type": "boolean"},
]

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10 ** 400), 10 ** 400),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([17.5, 18.0, 40, 100.0, 0, 1]),
    st.sampled_from(["own", "rent", "free", "castle", "", "1"]), st.text(max_size=5),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(),
                                                         max_size=1),
)
CASES = st.one_of(
    st.fixed_dictionaries({f["name"]: VALUES for f in SCHEMA}),
    st.dictionaries(st.sampled_from([f["name"] for f in SCHEMA] + ["extra"]), VALUES),
    VALUES,
)


def _outcome(check: Any, case: Any) -> tuple[str, Any]:
    try:
        return "ok", check(case)
    except Invalid as refused:
        return "refused", (str(refused), refused.details)


@settings(max_examples=600, deadline=None)
@given(CASES)
def test_the_compiled_check_accepts_refuses_and_types_exactly_as_validate(case: Any) -> None:
    fast = _outcome(Checker(SCHEMA), case)
    plain = _outcome(lambda c: validate(c, SCHEMA), case)
    assert fast == plain
    if fast[0] == "ok":  # the same types too (1 and 1.0 are equal, not alike)
        assert [type(v) for v in fast[1].values()] == [type(v) for v in plain[1].values()]


def test_the_compiled_check_types_a_plain_case_and_names_a_bad_one() -> None:
    check = Checker(SCHEMA)
    good = {"age": 40, "amount": 12.5, "housing": "rent", "note": "any", "owner": True}
    assert check(good) == {"age": 40.0, "amount": 12.5, "housing": "rent", "note": "any",
                           "owner": 1.0}
    with pytest.raises(Invalid) as refused:
        check({**good, "age": 17, "housing": "castle"}, "instances.3")
    assert set(refused.value.details) == {"instances.3.age", "instances.3.housing"}


def _written(change: float) -> int:
    return int(Decimal(repr(change)).scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))


HALVES = [(k + 0.5) / 100 for k in range(-300, 300)]


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.floats(-2, 2), st.floats(-1e20, 1e20),  # a change is within -1 and 1
                 st.sampled_from(HALVES).flatmap(
                     lambda h: st.sampled_from([h, math.nextafter(h, 1), math.nextafter(h, -1)]))))
def test_points_round_the_change_as_it_is_written(change: float) -> None:
    assert points(change) == _written(change)


def test_points_at_the_half_points_float_arithmetic_gets_wrong() -> None:
    assert 0.145 * 100 < 14.5 and points(0.145) == 15 and points(-0.145) == -15
    assert [points(h) for h in HALVES] == [_written(h) for h in HALVES]


def test_a_batch_sealed_in_one_pass_opens_as_each_value_alone(tmp_path: Path) -> None:
    keyring = sealing.Keyring(tmp_path / "master_key", tmp_path / "data_keys.json", True)
    sealing.install(keyring)
    values = [{"age": 41.0, "housing": "rent", "note": "Zoë"}, None, [1, "two", None, 0.1 + 0.2]]
    sealed = sealing.seal_many(values, "score_receipts.inputs")
    assert sealed[1] is None
    assert [sealing.open_json(s, "score_receipts.inputs") if s else None for s in sealed] == values
    again = sealing.seal_many(values, "score_receipts.inputs")
    assert "Zo" not in sealed[0] and sealed[0] != again[0]  # a nonce of its own each time
    # a value sealed ahead is stored as it is by its column, not sealed again
    assert sealing.seal_json(sealed[0], "score_receipts.inputs") is sealed[0]
    with pytest.raises(sealing.Unreadable):  # bound to its column like any sealed value
        sealing.open_json(sealed[0], "score_receipts.explanation")
    with pytest.raises(ValueError, match="sealed for score_receipts.inputs"):  # said at once
        sealing.seal_json(sealed[0], "score_receipts.explanation")
    _, new, _ = keyring.rotate_data()
    assert sealing.seal_many(values[:1], "x")[0].startswith(sealing.TEXT_PREFIX)
    blob = sealing.b64decode(sealing.seal_many(values[:1], "x")[0][len(sealing.TEXT_PREFIX):])
    assert blob[len(sealing.MAGIC):len(sealing.MAGIC) + 16].decode() == new  # the current key


def test_a_model_giving_a_non_finite_number_is_refused_before_anything_is_written(
        monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"income": np.linspace(0, 50_000, 60), "age": np.arange(60) % 50 + 18})
    model = LogisticRegression().fit(frame, (frame["income"] > 20_000).astype(int))
    explainer = Explainer.build(model, frame, [FeatureSpec("income", "number"),
                                               FeatureSpec("age", "integer")])
    row = {"income": 30_000.0, "age": 40.0}
    assert math.isfinite(explainer.score_rows(row).score[0])
    monkeypatch.setattr(explainer, "_scores", lambda x: (np.full(len(x), np.nan),) * 2)
    with pytest.raises(ValueError, match="not a finite number"):
        explainer.score_rows(row)


BODIES = st.one_of(
    st.fixed_dictionaries({"purpose": st.one_of(st.text(max_size=90), VALUES),
                           "features": st.one_of(st.dictionaries(st.text(max_size=3), VALUES,
                                                                 max_size=3), VALUES)}),
    st.dictionaries(st.sampled_from(["purpose", "features", "instances", "version", "x"]),
                    st.one_of(st.text(max_size=3), VALUES), max_size=3),
)


@settings(max_examples=600, deadline=None)
@given(BODIES)
def test_a_score_body_is_read_as_the_schema_reads_it(body: dict[str, Any]) -> None:
    def schema(b: Any) -> Any:
        try:
            return "ok", _SCORE_IN.load(b)
        except Exception:  # noqa: BLE001 - any refusal: score_arguments must refuse too
            return "refused", None

    def ours(b: Any) -> Any:
        try:
            return "ok", score_arguments(b)
        except Invalid:
            return "refused", None

    assert ours(body) == schema(body)


def test_the_compiled_check_refuses_a_whole_number_no_float_holds_as_validate_does() -> None:
    """An integer feature with no maximum: 2**53 + 1 becomes another number as a float, which
    validate refuses ("must be a whole number"); the compiled check must not score it."""
    schema = [{"name": "n", "type": "integer"}, {"name": "x", "type": "number"}]
    for case in ({"n": 2 ** 53 + 1, "x": 1}, {"n": 10 ** 300 + 1, "x": 1},
                 {"n": 1, "x": 2 ** 53 + 1}):
        assert _outcome(Checker(schema), case) == _outcome(lambda c: validate(c, schema), case)
