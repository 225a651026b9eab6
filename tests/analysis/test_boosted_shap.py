"""The vectorised TreeSHAP kernel (registry.analysis.explain._boosted_shap) on the test chain's
gradient boosting, explained against a held-out background: shap's values, and each row's
values the same bit for bit alone and in any batch, at any place in it."""

from __future__ import annotations

import numpy as np
import pytest

from registry.analysis.explain._boosted_shap import _CHUNK, BoostedShap

from ..shap_exact import exact_interventional
from .test_explain_held_out import build, evaluation, held_out_background

BATCH = 1000


@pytest.fixture(scope="module")
def gbm():
    """The explainer, the 300 evaluation rows (transformed, moved to their split cells) and
    each row's values computed alone."""
    pipeline, explainer = build("gbm", held_out_background())
    assert explainer._boosted is not None
    x = explainer._cells(np.asarray(pipeline[:-1].transform(evaluation()), dtype=float))
    alone = np.concatenate([explainer._boosted.shap_values(x[i:i + 1]) for i in range(len(x))])
    return explainer, x, alone


def test_values_equal_shaps_on_held_out_rows(gbm) -> None:
    explainer, x, alone = gbm
    expected = explainer._shap_rows(x)  # shap's kernel: interventional, probability
    np.testing.assert_allclose(explainer._boosted.shap_values(x), expected, rtol=0, atol=1e-8)
    np.testing.assert_allclose(alone, expected, rtol=0, atol=1e-8)


def test_a_row_is_the_same_alone_and_anywhere_in_any_batch(gbm) -> None:
    explainer, x, alone = gbm
    kernel = explainer._boosted
    rows = np.arange(BATCH) % len(x)  # each row at 3 or 4 places in a batch of 1000
    batch = x[rows]
    assert np.array_equal(kernel.shap_values(batch), alone[rows])
    sizes = (1, 2, _CHUNK - 1, _CHUNK, _CHUNK + 1, 31, 32, 33, 100, BATCH)
    for size in sizes:
        for start in (0, 1, 7, 299):
            part = rows[start:start + size]
            assert np.array_equal(kernel.shap_values(x[part]), alone[part]), (size, start)
    shuffled = np.random.default_rng(0).permutation(rows)
    assert np.array_equal(kernel.shap_values(x[shuffled]), alone[shuffled])


def test_a_background_of_one_row_has_no_groups_to_sum(gbm) -> None:
    """Every background group is then a single row, whose rescale factor is used as it is;
    the values are still exact (the brute-force oracle of tests/shap_exact.py)."""
    explainer, x, _ = gbm
    estimator, background = explainer._estimator, explainer._cells(explainer.background_matrix)
    kernel = BoostedShap.build(estimator, background[:1])
    assert kernel is not None and len(kernel.group_starts) == 0
    values = kernel.shap_values(x[:10])
    for i in range(10):
        exact = exact_interventional(estimator, background[:1], x[i])
        np.testing.assert_allclose(values[i], exact, rtol=0, atol=1e-12)
