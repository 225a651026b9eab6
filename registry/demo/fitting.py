"""The models the demo fits on its synthetic datasets."""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .spec import DemoDataset

MODEL_KINDS = ("gbm", "logistic", "forest")


def feature_columns(ds: DemoDataset) -> list[str]:
    """Columns a demo model may use: not the label, identifiers, suppressed or protected
    columns (protected ones stay in the frame for the bias audit), nor free text or dates."""
    return [
        c.name
        for c in ds.columns
        if c.name != ds.label
        and not (c.identifier or c.suppressed or c.protected)
        and c.type in ("integer", "number", "boolean", "category")
    ]


def fit_demo_model(ds: DemoDataset, kind: str = "gbm", seed: int = 0) -> tuple[Pipeline, list[str]]:
    """Fit a preprocessing + classifier pipeline on ``ds`` and return it with its features.

    The classifier is trained on 1 = ``ds.positive_label``, so ``predict_proba(X)[:, 1]`` is
    the probability of the positive label. ``kind`` is "gbm" (gradient boosting, 100 trees
    of depth 3), "logistic" or "forest" (100 unlimited-depth trees: large and slow to
    score, which the demo uses to break the latency budget).
    """
    if ds.label is None or ds.positive_label is None:
        raise ValueError(f"dataset {ds.key!r} has no label to fit on")
    if kind == "gbm":
        classifier = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=seed)
    elif kind == "logistic":
        classifier = LogisticRegression(max_iter=1000)
    elif kind == "forest":
        classifier = RandomForestClassifier(n_estimators=100, max_depth=None, random_state=seed)
    else:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {MODEL_KINDS}")

    features = feature_columns(ds)
    types = {c.name: c.type for c in ds.columns}
    numeric = [f for f in features if types[f] in ("integer", "number", "boolean")]
    categorical = [f for f in features if types[f] == "category"]
    transformers = []
    if numeric:
        transformers.append(
            (
                "num",
                Pipeline(
                    [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
                ),
                numeric,
            )
        )
    if categorical:
        transformers.append(
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        (
                            "onehot",
                            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                        ),
                    ]
                ),
                categorical,
            )
        )
    pipeline = Pipeline(
        [("preprocess", ColumnTransformer(transformers)), ("classifier", classifier)]
    )
    y = (ds.frame[ds.label] == ds.positive_label).astype(int).to_numpy()
    pipeline.fit(ds.frame[features], y)
    return pipeline, features
