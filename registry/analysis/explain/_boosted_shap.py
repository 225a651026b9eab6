"""Interventional TreeSHAP of a binary GradientBoostingClassifier's probability, vectorised.

shap's kernel walks every tree once for every (row, background row) pair, in C but one pair at
a time: ~0.9 ms a row for 50 trees and 100 background rows, most of a batch's time. The same
values follow from far less work, because a tree sees a row only through which of its leaves'
conditions the row meets:

- For a single background row ``z``, a tree's Shapley values at ``x`` (shap's "interventional"
  definition) come leaf by leaf: a leaf with value ``v`` on whose path every feature is met by
  ``x`` or by ``z`` gives, with ``A`` the features only ``x`` meets and ``B`` those only ``z``
  meets (``a``, ``b`` their sizes), ``v (a-1)! b! / (a+b)!`` to each of ``A`` and
  ``-v a! (b-1)! / (a+b)!`` to each of ``B``. Which features ``x`` meets on a leaf's path is a
  pattern of at most ``depth`` bits; so is ``z``'s: a table per leaf, indexed by both patterns,
  holds every contribution, built once.
- In probability, shap rescales each pair's margin values by
  ``(p(x) - p(z)) / (F(x) - F(z))`` (F the margin, p its sigmoid) and averages over ``z``. The
  background rows falling in one pattern of a leaf share that leaf's table entry, so a row needs
  only, per leaf and pattern, the sum of its rescale factors over those background rows.

Each row is computed alone, by elementwise steps and sums along the row in a fixed order (no
BLAS product, whose rounding depends on how many rows it is given), so a row's values are the
same bit for bit in any batch. :meth:`BoostedShap.build` proves the values equal to shap's
kernel on the background before they are used; rows with a missing value on a split-on column
are left to shap (see :class:`~registry.analysis.explain._explainer.Explainer`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

_MAX_SPLITS = 10  # splits in one tree: a table of 2^splits x groups x columns per tree
_MAX_ENTRIES = 8_000_000  # all the tables together (64 MB); beyond it shap's kernel is used
_CHUNK = 4  # rows at a time: the working arrays stay in cache (measured: 4 beats 8, 16, 32)


@dataclass
class _Tree:
    splits: list[tuple[int, float]]  # (column, threshold) of each distinct split
    columns: list[int]  # the distinct columns split on
    leaves: list[tuple[float, list[tuple[int, bool]]]]  # margin value, (split, goes left)


def _trees(estimator: Any) -> list[_Tree]:
    rate = float(estimator.learning_rate)
    out = []
    for tree in estimator.estimators_[:, 0]:
        t = tree.tree_
        splits: dict[tuple[int, float], int] = {}
        leaves: list[tuple[float, list[tuple[int, bool]]]] = []
        stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
        while stack:
            node, path = stack.pop()
            left, right = int(t.children_left[node]), int(t.children_right[node])
            if left == -1:
                leaves.append((rate * float(t.value[node, 0, 0]), path))
                continue
            split = splits.setdefault((int(t.feature[node]), float(t.threshold[node])),
                                      len(splits))
            stack.append((right, [*path, (split, False)]))
            stack.append((left, [*path, (split, True)]))
        columns = list(dict.fromkeys(c for c, _ in splits))
        out.append(_Tree(list(splits), columns, leaves))
    return out


def _tree_table(tree: _Tree, x_bits: np.ndarray, z_bits: np.ndarray) -> np.ndarray:
    """(x patterns, z groups, tree columns): the tree's margin Shapley values for each pair,
    leaf by leaf (see the module doc). ``*_bits[i, s]``: the row sends split s left."""
    column_of = {c: j for j, c in enumerate(tree.columns)}
    n_cols = len(tree.columns)
    out = np.zeros((len(x_bits), len(z_bits), n_cols))
    fact = [math.factorial(i) for i in range(2 * n_cols + 2)]
    for value, path in tree.leaves:
        okx = np.ones((len(x_bits), n_cols), dtype=bool)
        okz = np.ones((len(z_bits), n_cols), dtype=bool)
        for split, left in path:
            j = column_of[tree.splits[split][0]]
            okx[:, j] &= x_bits[:, split] == left
            okz[:, j] &= z_bits[:, split] == left
        ox, oz = okx[:, None, :], okz[None, :, :]
        reachable = ~(~ox & ~oz).any(axis=-1, keepdims=True)
        in_a, in_b = ox & ~oz & reachable, ~ox & oz & reachable
        a, b = in_a.sum(-1, keepdims=True), in_b.sum(-1, keepdims=True)
        both = np.take(fact, a + b).astype(float)
        w_a = np.take(fact, np.maximum(a - 1, 0)) * np.take(fact, b) / both
        w_b = np.take(fact, a) * np.take(fact, np.maximum(b - 1, 0)) / both
        out += value * (np.where(in_a, w_a, 0.0) - np.where(in_b, w_b, 0.0))
    return out


def _leaf_of_pattern(tree: _Tree) -> np.ndarray:
    """The tree's margin value for each pattern of its splits (0 where none is possible)."""
    n = len(tree.splits)
    bits = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1) == 1
    out = np.zeros(1 << n)
    for value, path in tree.leaves:
        reached = np.ones(1 << n, dtype=bool)
        for split, left in path:
            reached &= bits[:, split] == left
        out[reached] = value
    return out


@dataclass
class BoostedShap:
    """SHAP values (probability, interventional) on transformed columns; see the module doc."""

    estimator: Any
    n_columns: int
    split_column: np.ndarray  # every tree's splits, tree after tree
    split_threshold: np.ndarray
    split_weight: np.ndarray  # 2^(its place in its tree): a row's pattern is a sum of these
    tree_starts: np.ndarray  # where each tree's splits begin
    leaf_values: np.ndarray  # every tree's leaf value for each of its patterns, flattened
    leaf_starts: np.ndarray  # where each tree's begin
    init: float  # the margin before the trees
    margin_z: np.ndarray  # F of each background row
    prob_z: np.ndarray  # p of each background row
    # the background groups, distinct (many trees split the background alike), of more than
    # one row: their rows, group after group, and where each begins
    members: np.ndarray
    group_starts: np.ndarray
    tables: np.ndarray  # every tree's table, flattened
    tree_stride: np.ndarray  # a row's pattern in a tree times this: its entries' offset
    # per (tree, group, column) entry, grouped by the transformed column it adds to:
    entry_base: np.ndarray  # its place in ``tables`` for pattern 0
    entry_tree: np.ndarray
    # its group's place among a row's factors: a background row (its own rescale factor), or
    # the background's size + the group's place in group_starts (the sum of its rows')
    entry_group: np.ndarray
    entry_starts: np.ndarray  # where each column's entries begin
    entry_columns: np.ndarray

    @classmethod
    def build(cls, estimator: Any, background: np.ndarray) -> BoostedShap | None:
        """For a binary GradientBoostingClassifier and background rows (moved to their split
        cells); None when the trees are too large for the tables."""
        trees = _trees(estimator)
        if not trees or max(len(t.splits) for t in trees) > _MAX_SPLITS or \
                np.isnan(background).any():
            return None
        split_column = np.array([c for t in trees for c, _ in t.splits], dtype=np.intp)
        split_threshold = np.array([th for t in trees for _, th in t.splits])
        split_weight = np.array([1 << s for t in trees for s in range(len(t.splits))],
                                dtype=np.intp)
        tree_starts = np.cumsum([0] + [len(t.splits) for t in trees[:-1]])
        values = [_leaf_of_pattern(tree) for tree in trees]
        leaf_starts = np.cumsum([0] + [len(v) for v in values[:-1]]).astype(np.intp)
        empty = np.empty(0, dtype=np.intp)
        self = cls(estimator, background.shape[1], split_column, split_threshold, split_weight,
                   tree_starts, np.concatenate(values), leaf_starts, 0.0, np.empty(0),
                   np.empty(0), empty, empty, np.empty(0), *(empty,) * 6)
        z_pattern = self._patterns(self._goes_left(background))  # (background, trees)
        entries = sum((1 << len(tree.splits)) * len(np.unique(z_pattern[:, t])) * len(tree.columns)
                      for t, tree in enumerate(trees))
        if entries > _MAX_ENTRIES:
            return None
        # the constant before the trees (the prior's log-odds), as scikit-learn adds it
        self.init = float(estimator.decision_function(background[:1])[0]
                          - self._margin(z_pattern[:1])[0])
        self.margin_z = self._margin(z_pattern)
        self.prob_z = expit(self.margin_z)
        subsets: dict[tuple[int, ...], int] = {}  # distinct groups: many trees split alike
        tables, stride = [], []
        base, entry_tree, entry_group, entry_column = [], [], [], []
        offset = 0
        for t, tree in enumerate(trees):
            n_splits = len(tree.splits)
            patterns, members = np.unique(z_pattern[:, t], return_inverse=True)
            groups = [subsets.setdefault(tuple(np.flatnonzero(members == g).tolist()),
                                         len(subsets)) for g in range(len(patterns))]
            x_bits = ((np.arange(1 << n_splits)[:, None] >> np.arange(n_splits)) & 1) == 1
            z_bits = ((patterns[:, None] >> np.arange(n_splits)) & 1) == 1
            table = _tree_table(tree, x_bits, z_bits)  # (2^splits, groups, columns)
            # (2^splits, columns, groups): a column's entries of one tree lie side by side
            tables.append(table.transpose(0, 2, 1).ravel())
            n_g, n_c = table.shape[1], table.shape[2]
            stride.append(n_g * n_c)
            for g in range(n_g):
                for j, column in enumerate(tree.columns):
                    base.append(offset + j * n_g + g)
                    entry_tree.append(t)
                    entry_group.append(groups[g])
                    entry_column.append(column)
            offset += table.size
        # a group of one row is that row's rescale factor: no sum
        n_z, larger = len(background), [s for s in subsets if len(s) > 1]
        source = {s: n_z + i for i, s in enumerate(larger)} | \
            {s: s[0] for s in subsets if len(s) == 1}
        source_of = np.array([source[s] for s in subsets], dtype=np.intp)
        self.members = np.array([z for s in larger for z in s], dtype=np.intp)
        self.group_starts = np.cumsum([0] + [len(s) for s in larger])[:len(larger)]
        self.tables = np.concatenate(tables)
        self.tree_stride = np.array(stride, dtype=np.intp)
        # sorted by column (stably: tree after tree within one), so each column's terms are
        # contiguous and summed by one reduceat
        columns = np.array(entry_column, dtype=np.intp)
        order = np.argsort(columns, kind="stable")
        self.entry_base = np.array(base, dtype=np.intp)[order]
        self.entry_tree = np.array(entry_tree, dtype=np.intp)[order]
        self.entry_group = source_of[np.array(entry_group, dtype=np.intp)[order]]
        self.entry_columns, self.entry_starts = np.unique(columns[order], return_index=True)
        return self

    def _goes_left(self, x: np.ndarray) -> np.ndarray:
        """(rows, splits): as scikit-learn routes, float32(value) <= threshold."""
        return x.astype(np.float32).take(self.split_column, axis=1) <= self.split_threshold

    def _patterns(self, left: np.ndarray) -> np.ndarray:
        """(rows, trees): each tree's splits a row goes left at, as bits."""
        return np.add.reduceat(left * self.split_weight, self.tree_starts, axis=1)

    def _margin(self, pattern: np.ndarray) -> np.ndarray:
        """F: the trees' leaf values added tree after tree (from 0.0, each sum rounded in turn:
        an accumulation, never a pairwise sum), then the constant."""
        values = self.leaf_values[self.leaf_starts[None, :] + pattern]  # (rows, trees)
        running = np.add.accumulate(
            np.concatenate((np.zeros((len(pattern), 1)), values), axis=1), axis=1)
        return self.init + running[:, -1]

    def shap_values(self, x: np.ndarray) -> np.ndarray:
        """(rows, transformed columns) SHAP values of the probability (x moved to its cells).

        Rows run along the first axis and entries along the last, so each step reads and writes
        whole rows contiguously; every step is elementwise or sums within a row, in an order
        fixed by the model alone. The working arrays are allocated once per call, not once per
        chunk (``take`` with ``out=`` in mode "wrap": "raise" would buffer; the indices are
        always in range).
        """
        pattern = self._patterns(self._goes_left(x))
        margin = self._margin(pattern)
        offset = pattern * self.tree_stride  # where each tree's entries for the row begin
        n, n_z, n_entries = len(x), len(self.margin_z), len(self.entry_base)
        rows = min(n, _CHUNK)
        # per row: each background row's rescale factor, then each larger group's sum of them
        factors = np.empty((rows, n_z + len(self.group_starts)))
        gathered = np.empty((rows, len(self.members)))
        index = np.empty((rows, n_entries), dtype=np.intp)
        terms = np.empty((rows, n_entries))
        factor = np.empty((rows, n_entries))
        sums = np.empty((n, len(self.entry_columns)))
        p_x = expit(margin)
        for start in range(0, n, _CHUNK):
            end = min(start + _CHUNK, n)
            r = end - start
            rescale = factors[:r, :n_z]
            diff = self.margin_z[None, :] - margin[start:end, None]
            rescale[...] = 1.0  # where F(z) = F(x)
            np.divide(self.prob_z[None, :] - p_x[start:end, None], diff, out=rescale,
                      where=diff != 0)
            if len(self.group_starts):
                rescale.take(self.members, axis=1, out=gathered[:r], mode="wrap")
                np.add.reduceat(gathered[:r], self.group_starts, axis=1,
                                out=factors[:r, n_z:])
            offset[start:end].take(self.entry_tree, axis=1, out=index[:r], mode="wrap")
            index[:r] += self.entry_base
            self.tables.take(index[:r], out=terms[:r], mode="wrap")
            factors[:r].take(self.entry_group, axis=1, out=factor[:r], mode="wrap")
            terms[:r] *= factor[:r]
            np.add.reduceat(terms[:r], self.entry_starts, axis=1, out=sums[start:end])
        out = np.zeros((n, self.n_columns))
        out[:, self.entry_columns] = sums / n_z
        return out
