"""Random draws shared by the synthetic datasets.

Every draw takes the dataset's own generator, so a dataset is reproducible only while its
draws keep their order: add a new draw after the existing ones, never between them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def draw_labels(rng: np.random.Generator, logit: np.ndarray, rate: float) -> np.ndarray:
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


def pick(
    rng: np.random.Generator, options: Sequence[str], weights: Sequence[float], n: int
) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(np.asarray(options, dtype=object), size=n, p=p / p.sum())


def pick_indexed(
    rng: np.random.Generator, options: Sequence[str], p: Sequence[float] | np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` draws from ``options`` with probabilities ``p`` (summing to 1), as indices and
    as values: the indices look up each option's other attributes."""
    idx = rng.choice(len(options), size=n, p=p)
    return idx, np.asarray(options, dtype=object)[idx]


def pick_rows(rng: np.random.Generator, options: Sequence[str], probs: np.ndarray) -> np.ndarray:
    """One draw per row from per-row probabilities ``probs`` (shape n × len(options))."""
    probs = probs / probs.sum(axis=1, keepdims=True)
    idx = (probs.cumsum(axis=1) < rng.random((len(probs), 1))).sum(axis=1)
    return np.asarray(options, dtype=object)[np.minimum(idx, len(options) - 1)]


def unique_numbers(
    rng: np.random.Generator, n: int, start: int, mean_gap: int, shuffle: bool = True
) -> np.ndarray:
    """``n`` distinct integers above ``start``, increasing unless ``shuffle``."""
    numbers = start + np.cumsum(rng.integers(1, 2 * mean_gap, size=n))
    return rng.permutation(numbers) if shuffle else numbers


def yes_no(flags: np.ndarray) -> np.ndarray:
    return np.where(flags, "yes", "no").astype(object)
