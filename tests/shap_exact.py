"""Exact interventional SHAP for a binary GradientBoostingClassifier, by brute force.

An oracle for tests, independent of shap and of Gatehouse: every tree's Shapley values are
enumerated over the features it splits on, from scikit-learn's own predictions on rows that
take the explained row's values on a coalition and a background row's elsewhere.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.special import expit


def exact_interventional(model, background: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Interventional SHAP values of a binary GradientBoostingClassifier's probability at row
    ``x`` (transformed), by brute force: for each background row r, each tree's exact Shapley
    values over the features it splits on (scikit-learn's own routing, on rows that take x's
    values on a coalition and r's elsewhere), summed, rescaled per r to the probability as shap
    defines it, then averaged over r."""
    trees = model.estimators_[:, 0]
    phi = np.zeros((len(background), x.shape[0]))
    for tree in trees:
        used = sorted(set(tree.tree_.feature[tree.tree_.feature >= 0].tolist()))
        n = len(used)
        subsets = list(itertools.product((0, 1), repeat=n))
        hybrids = np.repeat(background[None, :, :], len(subsets), axis=0)
        for s, subset in enumerate(subsets):
            for j, on in zip(used, subset, strict=True):
                if on:
                    hybrids[s, :, j] = x[j]
        value = tree.predict(hybrids.reshape(-1, x.shape[0])).reshape(len(subsets), -1)
        index = {subset: s for s, subset in enumerate(subsets)}
        for k, j in enumerate(used):
            for subset in subsets:
                if subset[k]:
                    continue
                size = sum(subset)
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                with_j = subset[:k] + (1,) + subset[k + 1 :]
                phi[:, j] += weight * (value[index[with_j]] - value[index[subset]])
    phi *= model.learning_rate
    margin_x = model.decision_function(x[None, :])[0]
    margin_r = model.decision_function(background)
    same = margin_x == margin_r
    rescale = np.where(
        same, 1.0, (expit(margin_x) - expit(margin_r)) / np.where(same, 1.0, margin_x - margin_r)
    )
    return (phi * rescale[:, None]).mean(axis=0)
