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
_CHUNK = 16  # rows at a time: the working arrays stay in cache
_PADDED = (4, 8)  # background groups of up to these sizes are summed padded


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
class _SubsetSums:
    """Sums of fixed subsets of an array's last axis, each row alone and in a fixed order.

    ``np.add.reduceat`` costs mostly per subset (one inner-loop call each), and most subsets
    are small: those of up to 4, then up to 8, members are padded (with a position holding
    0.0, which leaves a sum as it is) and added pairwise, a few whole-array steps for all of
    them; the larger ones go to ``reduceat``. The output holds the subsets in that order.
    """

    blocks: list[tuple[int, np.ndarray]]  # (width, each subset's positions padded to it)
    members: np.ndarray  # the larger subsets' positions, subset after subset
    starts: np.ndarray  # where each larger subset begins in ``members``

    @classmethod
    def of(cls, subsets: list[list[int]], pad: int) -> tuple[_SubsetSums, np.ndarray]:
        """The sums of ``subsets`` (``pad``: a position always 0.0), and each subset's place
        in their output."""
        place = np.empty(len(subsets), dtype=np.intp)
        blocks, done, lower = [], 0, 0
        for width in _PADDED:
            chosen = [i for i, s in enumerate(subsets) if lower < len(s) <= width]
            place[chosen] = np.arange(done, done + len(chosen))
            padded = [[*subsets[i], *[pad] * (width - len(subsets[i]))] for i in chosen]
            # member after member (width, subsets): each step adds whole runs of subsets
            blocks.append((width, np.array(padded, dtype=np.intp).reshape(-1, width).T.ravel()))
            done, lower = done + len(chosen), width
        rest = [i for i, s in enumerate(subsets) if len(s) > lower]
        place[rest] = np.arange(done, done + len(rest))
        members = np.array([m for i in rest for m in subsets[i]], dtype=np.intp)
        starts = np.cumsum([0] + [len(subsets[i]) for i in rest[:-1]]).astype(np.intp)
        return cls(blocks, members, starts if rest else starts[:0]), place

    def __call__(self, values: np.ndarray, out: np.ndarray) -> None:
        """``out[:, k]``: the sum of ``values[:, subset k]`` (both (rows, ...))."""
        done = 0
        for width, positions in self.blocks:
            n = len(positions) // width
            if n == 0:
                continue
            part = np.take(values, positions, axis=1).reshape(len(values), width, n)
            while width > 2:
                width //= 2
                part = part[:, :width] + part[:, width:]
            np.add(part[:, 0], part[:, 1], out=out[:, done:done + n])
            done += n
        if len(self.starts):
            out[:, done:] = np.add.reduceat(np.take(values, self.members, axis=1),
                                            self.starts, axis=1)


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
    group_sums: _SubsetSums  # each distinct background group's rescale factors, summed
    tables: np.ndarray  # every tree's table, flattened
    tree_stride: np.ndarray  # a row's pattern in a tree times this: its entries' offset
    # per (tree, group, column) entry, grouped by the transformed column it adds to:
    entry_base: np.ndarray  # its place in ``tables`` for pattern 0
    entry_tree: np.ndarray
    entry_group: np.ndarray  # its group's place in ``group_sums``'s output
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
                   np.empty(0), _SubsetSums([], empty, empty), np.empty(0),
                   *(empty,) * 6)
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
            tables.append(table.ravel())
            n_g, n_c = table.shape[1], table.shape[2]
            stride.append(n_g * n_c)
            for g in range(n_g):
                for j, column in enumerate(tree.columns):
                    base.append(offset + g * n_c + j)
                    entry_tree.append(t)
                    entry_group.append(groups[g])
                    entry_column.append(column)
            offset += table.size
        self.group_sums, place = _SubsetSums.of([list(s) for s in subsets], len(background))
        self.tables = np.concatenate(tables)
        self.tree_stride = np.array(stride, dtype=np.intp)
        # sorted by column (stably: tree after tree within one), so each column's terms are
        # contiguous and summed by one reduceat
        columns = np.array(entry_column, dtype=np.intp)
        order = np.argsort(columns, kind="stable")
        self.entry_base = np.array(base, dtype=np.intp)[order]
        self.entry_tree = np.array(entry_tree, dtype=np.intp)[order]
        self.entry_group = place[np.array(entry_group, dtype=np.intp)[order]]
        self.entry_columns, self.entry_starts = np.unique(columns[order], return_index=True)
        return self

    def _goes_left(self, x: np.ndarray) -> np.ndarray:
        """(rows, splits): as scikit-learn routes, float32(value) <= threshold."""
        return x.astype(np.float32).astype(np.float64)[:, self.split_column] \
            <= self.split_threshold

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
        fixed by the model alone. The working arrays are allocated once per call (``np.take``
        with ``out=`` in mode "clip": "raise" would buffer; the indices are always in range).
        """
        pattern = self._patterns(self._goes_left(x))
        margin = self._margin(pattern)
        offset = pattern * self.tree_stride  # where each tree's entries for the row begin
        n, n_z = len(x), len(self.margin_z)
        rows, n_entries = min(n, _CHUNK), len(self.entry_base)
        index = np.empty((rows, n_entries), dtype=np.intp)
        terms = np.empty((rows, n_entries))
        factor = np.empty((rows, n_entries))
        rescale = np.zeros((rows, n_z + 1))  # the last column stays 0.0: group_sums' padding
        grouped = np.empty((rows, len(self.group_sums.starts) + sum(
            len(p) // w for w, p in self.group_sums.blocks)))
        out = np.zeros((n, self.n_columns))
        for start in range(0, n, _CHUNK):
            m = margin[start:start + _CHUNK]
            r = len(m)
            diff = self.margin_z[None, :] - m[:, None]
            same = diff == 0
            rescale[:r, :n_z] = np.where(same, 1.0, (self.prob_z[None, :] - expit(m)[:, None])
                                         / np.where(same, 1.0, diff))
            self.group_sums(rescale[:r], grouped[:r])
            np.take(offset[start:start + r], self.entry_tree, axis=1, out=index[:r],
                    mode="clip")
            index[:r] += self.entry_base
            np.take(self.tables, index[:r], out=terms[:r], mode="clip")
            np.take(grouped[:r], self.entry_group, axis=1, out=factor[:r], mode="clip")
            terms[:r] *= factor[:r]
            out[start:start + r, self.entry_columns] = np.add.reduceat(
                terms[:r], self.entry_starts, axis=1)
        out /= n_z
        return out
