"""Scores with SHAP explanations a caseworker can read.

The score is the probability of the positive class, ``predict_proba[:, 1]``. SHAP values
are computed on the final estimator of the pipeline (on the transformed, one-hot matrix)
and summed back over each original feature's columns — SHAP values add up, so the sum
is the feature's SHAP value. ``base_value + sum(contributions)`` always equals
``explained_value``; which quantity that is depends on the model:

=========================================  ==========================  ============
final estimator                            shap explainer              scale
=========================================  ==========================  ============
RandomForest, ExtraTrees, DecisionTree     TreeExplainer, path-dep.    probability
GradientBoostingClassifier                 TreeExplainer, interv.,     probability
                                           model_output="probability"  (or log-odds,
                                           path-dep., if asked)
HistGradientBoostingClassifier             TreeExplainer, path-dep.    log-odds
LogisticRegression(CV)                     LinearExplainer, interv.    log-odds
=========================================  ==========================  ============

Interventional TreeSHAP is exactly additive against any background, but shap's kernel routes
values within float32 rounding of a split threshold unlike the model (and unlike shap's own
``predict``, which gives the base value); held-out backgrounds hit this often. Before shap sees
them, the background and the rows explained are moved within their split cells
(:mod:`registry.analysis.explain._tree_cells`), which leaves the model's output, and so its SHAP
values, exactly as they were and makes every implementation route alike.

On the probability scale ``explained_value`` *is* the score. Forests' raw output is already
a probability, and interventional TreeSHAP in probability space is exact for gradient
boosting: computed by a vectorised kernel (:mod:`registry.analysis.explain._boosted_shap`,
~0.025 ms a row in a batch, ~0.04 ms alone, with 50 trees and 100 background rows; shap's
~0.9 ms), proven equal to shap's at build and exact to float rounding. For logistic
regression, and for histogram boosting (whose probability-space TreeSHAP is slow and off by
~1e-4), probability-space SHAP is not exact and fast, so those explain the log-odds
``log(score / (1 - score))`` — ``explained_value`` — and say so in the statements and the
notice. The score itself is always the probability.

The statements' wording and the notices are in :mod:`registry.analysis.statements`;
the upload check that proves an explainer is in :mod:`registry.analysis.explain._self_check`.
``shap`` is imported inside :meth:`Explainer.build`: it is slow to import.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..pipelines import Rows, column_sources, compile_with_reason, sklearn_transform, split_pipeline
from ..statements import FeatureSpec, contribution_items, notice_for
from ._boosted_shap import BoostedShap
from ._rows import SklearnRows, json_value, records
from ._tree_cells import SplitCells

# final-estimator class name -> how it is explained
_TREE_PROBABILITY = {"RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier"}
_TREE_BOOSTED = {"GradientBoostingClassifier"}
_TREE_LOG_ODDS = {"HistGradientBoostingClassifier"}
_LINEAR = {"LogisticRegression", "LogisticRegressionCV"}


@dataclass
class Explanation:
    """One row's score and how the model weighed each original feature to reach it.

    ``base_value + sum(c["contribution"] for c in contributions) == explained_value``,
    which is ``score`` when ``scale == "probability"`` and ``log(score / (1 - score))``
    when ``scale == "log-odds"``.
    """

    score: float
    base_value: float
    contributions: list[dict[str, Any]]
    scale: str
    notice: str
    explained_value: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the contributions copied: ``asdict``'s deep copy is ~10x slower,
        which shows on the serving path)."""
        return {
            "score": self.score,
            "base_value": self.base_value,
            "contributions": [dict(c) for c in self.contributions],
            "scale": self.scale,
            "notice": self.notice,
            "explained_value": self.explained_value,
        }


@dataclass
class Explainer:
    """Scores and explains rows for one loaded model version; build it once with :meth:`build`."""

    method: str  # "tree" | "linear"
    scale: str  # "probability" | "log-odds"
    features: list[FeatureSpec]
    input_columns: list[str]  # the columns the pipeline reads
    fastpath: bool
    fastpath_reason: str
    background_matrix: np.ndarray
    base_value: float
    _transform: Any = field(repr=False)
    _shap: Any = field(repr=False)
    _estimator: Any = field(repr=False)
    _aggregate: SumBack = field(repr=False)
    _output: str = field(repr=False)  # how scores are computed: see _scores
    # interventional TreeSHAP only: rows moved within their split cells before shap sees them
    _cells: SplitCells | None = field(default=None, repr=False)
    # and computed by the vectorised kernel where it is proven equal to shap's (gradient boosting)
    _boosted: BoostedShap | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        pipeline: Any,
        background: pd.DataFrame,
        features: list[FeatureSpec],
        *,
        background_size: int = 100,
        random_state: int = 0,
        boosted_scale: str = "probability",
    ) -> Explainer:
        """Pick the explainer for the pipeline's final estimator and prepare it.

        ``background`` (evaluation data) proves the fast path and supplies up to
        ``background_size`` reference rows to the explainer. Raises ``ValueError`` for
        estimators with no explanation method, non-binary classifiers, and transformed
        columns that cannot be attributed to the original features.
        ``boosted_scale="log-odds"`` explains GradientBoosting in log-odds with
        path-dependent TreeSHAP: ~10x faster than probability space, but less readable.
        """
        if boosted_scale not in ("probability", "log-odds"):
            raise ValueError(f"boosted_scale must be 'probability' or 'log-odds': {boosted_scale}")
        _, estimator = split_pipeline(pipeline)
        kind = type(estimator).__name__
        if estimator is None or kind not in (
            _TREE_PROBABILITY | _TREE_BOOSTED | _TREE_LOG_ODDS | _LINEAR
        ):
            raise ValueError(f"no explanation method for {kind}")
        if len(getattr(estimator, "classes_", ())) != 2:
            raise ValueError("only binary classifiers can be scored and explained")

        fast, reason = compile_with_reason(pipeline, background)
        if fast is not None:
            transform: Any = fast
            columns, sources = fast.input_columns, fast.feature_of_column
        else:
            mapped = column_sources(pipeline)
            if mapped is None:
                raise ValueError("cannot attribute transformed columns to the original features")
            columns, sources = mapped
            transform = SklearnRows(sklearn_transform(pipeline), columns)
        aggregate = _aggregation(columns, sources, features)

        if len(background) > background_size:
            background = background.sample(n=background_size, random_state=random_state)
        xb = transform(background)

        import shap

        cells = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind in _LINEAR:
                explainer = shap.LinearExplainer(estimator, xb)
                method, scale, output = "linear", "log-odds", "linear"
            elif kind in _TREE_BOOSTED and boosted_scale == "probability":
                # shap's interventional kernel routes values near a threshold unlike the model
                # (and unlike shap's own predict, which gives the base value): see tree_cells
                cells = SplitCells.of(estimator)
                explainer = shap.TreeExplainer(
                    estimator,
                    data=cells(xb),
                    model_output="probability",
                    feature_perturbation="interventional",
                )
                method, scale, output = "tree", "probability", "probability"
            elif kind in _TREE_LOG_ODDS | _TREE_BOOSTED:
                explainer = shap.TreeExplainer(estimator)
                method, scale, output = "tree", "log-odds", "log-odds"
            else:  # forests and single trees: their raw output is the probability
                explainer = shap.TreeExplainer(estimator)
                method, scale, output = "tree", "probability", "class-1"
        base = float(np.ravel(explainer.expected_value)[-1])
        self = cls(
            method=method,
            scale=scale,
            features=list(features),
            input_columns=list(columns),
            fastpath=fast is not None,
            fastpath_reason=reason,
            background_matrix=xb,
            base_value=base,
            _transform=transform,
            _shap=explainer,
            _estimator=estimator,
            _aggregate=aggregate,
            _output=output,
            _cells=cells,
            _boosted=_proven_kernel(estimator, explainer, cells(xb)) if cells else None,
        )
        # the fast score must reproduce predict_proba, or we use predict_proba
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fitted on a DataFrame, given an array
            reference = estimator.predict_proba(xb)[:, 1]
        if not np.allclose(self._scores(xb)[0], reference, rtol=0, atol=1e-9):
            self._output = "sklearn-" + output
        return self

    # --- scoring ------------------------------------------------------------------------

    def _scores(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(score, explained value) for each transformed row."""
        output = self._output
        if output.startswith("sklearn-"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # fitted on a DataFrame, given an array
                score = self._estimator.predict_proba(x)[:, 1]
                log_odds = (
                    self._estimator.decision_function(x) if self.scale == "log-odds" else None
                )
            return score, score if log_odds is None else log_odds
        if output == "linear":
            est = self._estimator
            # summed along each row (no BLAS product: its rounding changes with the row count)
            raw = (x * est.coef_[0]).sum(axis=1) + est.intercept_[0]
            return _expit(raw), raw
        predicted = np.asarray(self._shap.model.predict(x))
        if output == "class-1":
            score = predicted[:, 1] if predicted.ndim == 2 else predicted
            return score, score
        if output == "log-odds":
            return _expit(predicted), predicted
        return predicted, predicted  # "probability"

    def _shap_values(self, x: np.ndarray) -> np.ndarray:
        """SHAP values on the transformed columns, (n_rows, n_columns), positive class."""
        if self._cells is not None:
            x = self._cells(x)
        if self._boosted is not None and self._cells is not None:
            # rows with a missing split-on value are left to shap: the kernel's tables assume
            # none; the choice is the row's own, so a batch still equals its rows alone
            missing = np.isnan(x[:, self._cells.columns]).any(axis=1)
            if not missing.any():
                return self._boosted.shap_values(x)
            values = np.zeros(x.shape)
            values[~missing] = self._boosted.shap_values(x[~missing])
            values[missing] = self._shap_rows(x[missing])
            return values
        return self._shap_rows(x)

    def _shap_rows(self, x: np.ndarray) -> np.ndarray:
        if self.method == "linear":
            values = self._shap.shap_values(x)
        else:
            values = self._shap.shap_values(x, check_additivity=False)
        values = np.asarray(values)
        return values[:, :, 1] if values.ndim == 3 else values

    def score_rows(self, rows: Rows) -> Scored:
        """Scores, explained values and contributions (in feature order) of every row at once.

        Every step works on all the rows together and computes each row alone (no sum across
        rows, no BLAS product whose rounding depends on the batch's size), so a row scored in a
        batch is scored and explained bit for bit as it is alone.
        """
        if isinstance(rows, pd.Series):
            rows = rows.to_dict()
        x = self._transform(rows)
        score, explained = self._scores(x)
        contributions = self._aggregate(self._shap_values(x))
        if not (np.isfinite(score).all() and np.isfinite(explained).all()
                and np.isfinite(contributions).all()):
            raise ValueError("the model gave a score or contribution that is not a finite number")
        return Scored(score.tolist(), explained.tolist(), contributions.tolist())

    def score_and_explain(self, rows: Rows) -> list[Explanation]:
        """One :class:`Explanation` per row (a DataFrame, one dict, or a list of dicts)."""
        if isinstance(rows, pd.Series):
            rows = rows.to_dict()
        scored = self.score_rows(rows)
        notice = notice_for(self.scale)
        base, scale, features = self.base_value, self.scale, self.features
        return [
            Explanation(
                score=s,
                base_value=base,
                contributions=contribution_items(
                    features, [json_value(record.get(f.name)) for f in features], values, scale,
                    s, base, e,
                ),
                scale=scale,
                notice=notice,
                explained_value=e,
            )
            for record, values, s, e in zip(
                records(rows), scored.contributions, scored.score, scored.explained, strict=True
            )
        ]


@dataclass
class Scored:
    """Rows scored and explained, as plain lists: one entry per row."""

    score: list[float]
    explained: list[float]  # what base value + contributions add up to (see Explanation)
    contributions: list[list[float]]  # per row, in the order of the features


@dataclass
class SumBack:
    """Sums SHAP values on transformed columns into the original features they come from.

    Each feature's columns are added in a fixed order by ``np.add.reduceat`` along the row, so
    a row's sums do not depend on how many rows are summed with it (a matrix product's do).
    """

    order: np.ndarray  # transformed columns, grouped by feature
    starts: np.ndarray  # where each used feature's group begins in ``order``
    used: np.ndarray  # the features that have columns, in feature order
    n_features: int

    def __call__(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros((values.shape[0], self.n_features))
        if len(self.order):
            out[:, self.used] = np.add.reduceat(values[:, self.order], self.starts, axis=1)
        return out


def _aggregation(
    columns: list[str], sources: np.ndarray, features: list[FeatureSpec]
) -> SumBack:
    """How transformed columns sum into the features they come from."""
    position = {spec.name: j for j, spec in enumerate(features)}
    unknown = [c for c in columns if c not in position]
    if unknown:
        raise ValueError(f"the model uses columns missing from the feature schema: {unknown}")
    feature = np.array([position[columns[s]] for s in sources], dtype=np.intp)
    order = np.argsort(feature, kind="stable")
    used, starts = np.unique(feature[order], return_index=True)
    return SumBack(order, starts, used, len(features))


def _proven_kernel(estimator: Any, explainer: Any, background: np.ndarray) -> BoostedShap | None:
    """The vectorised kernel when it gives shap's values on the background (moved to its cells),
    within the tolerance the upload check holds explanations to; else None (shap's is used)."""
    kernel = BoostedShap.build(estimator, background)
    if kernel is None:
        return None
    expected = np.asarray(explainer.shap_values(background, check_additivity=False))
    expected = expected[:, :, 1] if expected.ndim == 3 else expected
    return kernel if np.allclose(kernel.shap_values(background), expected, rtol=0, atol=1e-8) \
        else None


def _expit(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(x)
