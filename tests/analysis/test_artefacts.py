"""Artefacts: skops only, through an allow-list, with the sha256 checked before loading."""

from __future__ import annotations

import importlib
import io
import json
import pickle
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import Tree

from registry.analysis.models import (
    DEFAULT_TRUSTED_ESTIMATORS,
    ArtefactRefused,
    check_types,
    load_artefact,
    sha256_bytes,
    sniff_refuse_pickle,
)

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "german_credit.csv"
TRUSTED = list(DEFAULT_TRUSTED_ESTIMATORS)


def _double(x):
    """A custom function: code that must never come in with an upload."""
    return x * 2


class HomeMadeClassifier(LogisticRegression):
    """An estimator class that is not on the allow-list."""


@pytest.fixture(scope="module")
def credit() -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_csv(DATA)
    return frame, (frame.pop("credit") == "good").astype(int)


def fit(credit, model, numeric_step=None) -> Pipeline:
    frame, y = credit
    numeric = frame.select_dtypes("number").columns.tolist()
    categorical = [c for c in frame.columns if c not in numeric]
    pre = ColumnTransformer(
        [
            ("num", numeric_step or StandardScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    return Pipeline([("pre", pre), ("model", model)]).fit(frame, y)


@pytest.fixture(scope="module")
def gbm(credit) -> Pipeline:
    return fit(credit, GradientBoostingClassifier(n_estimators=20, random_state=0))


@pytest.fixture(scope="module")
def gbm_bytes(gbm) -> bytes:
    return sio.dumps(gbm)


def load(data: bytes, trusted: list[str] = TRUSTED) -> object:
    return load_artefact(data, expected_sha256=sha256_bytes(data), extra_trusted=trusted)


def test_sha256_bytes() -> None:
    assert sha256_bytes(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_plain_pipeline_loads_and_predicts_the_same(credit, gbm, gbm_bytes) -> None:
    assert check_types(gbm_bytes, TRUSTED) == []
    model = load(gbm_bytes)
    frame, _ = credit
    np.testing.assert_array_equal(model.predict_proba(frame), gbm.predict_proba(frame))


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(max_iter=2000),
        RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0),
        ExtraTreesClassifier(n_estimators=5, max_depth=4, random_state=0),
        HistGradientBoostingClassifier(max_iter=5, random_state=0),
        DecisionTreeClassifier(max_depth=4, random_state=0),
    ],
    ids=lambda m: type(m).__name__,
)
def test_default_list_covers_the_common_models(credit, model) -> None:
    pipeline = fit(credit, model, Pipeline([("imp", SimpleImputer()), ("sc", StandardScaler())]))
    data = sio.dumps(pipeline)
    assert check_types(data, TRUSTED) == []
    frame, _ = credit
    np.testing.assert_array_equal(load(data).predict_proba(frame), pipeline.predict_proba(frame))


def test_default_names_are_real_classes() -> None:
    for name in DEFAULT_TRUSTED_ESTIMATORS:
        module, _, attr = name.rpartition(".")
        cls = getattr(importlib.import_module(module), attr)
        assert f"{cls.__module__}.{cls.__name__}" == name


def test_pickle_is_refused(gbm) -> None:
    data = pickle.dumps(gbm)
    with pytest.raises(ArtefactRefused, match="pickle"):
        sniff_refuse_pickle(data)
    with pytest.raises(ArtefactRefused, match="pickle"):
        load(data)


@pytest.mark.parametrize("protocol", [0, 1, 2, 5])
def test_pickle_of_any_protocol_is_refused(protocol) -> None:
    with pytest.raises(ArtefactRefused, match="pickle"):
        sniff_refuse_pickle(pickle.dumps({"weights": [1.0, 2.0]}, protocol=protocol))


@pytest.mark.parametrize(
    "compress", [0, 3, ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3)], ids=str
)
def test_joblib_files_are_refused_whatever_their_name(gbm, tmp_path, compress) -> None:
    path = tmp_path / "model.skops"  # named like a skops file
    joblib.dump(gbm, path, compress=compress)
    data = path.read_bytes()
    with pytest.raises(ArtefactRefused, match="joblib|pickle") as refused:
        load(data)
    assert "sha256" not in refused.value.reason


def test_pickle_renamed_skops_is_refused(gbm, tmp_path) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(gbm))
    with pytest.raises(ArtefactRefused, match="pickle"):
        load(path.read_bytes())


def test_pickle_with_a_skops_file_appended_is_refused(gbm, gbm_bytes) -> None:
    polyglot = pickle.dumps(gbm) + gbm_bytes  # zipfile alone would accept this
    assert zipfile.is_zipfile(io.BytesIO(polyglot))
    with pytest.raises(ArtefactRefused, match="pickle"):
        load(polyglot)


def test_zip_that_is_not_skops_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.pkl", b"\x80\x04N.")
    with pytest.raises(ArtefactRefused, match="schema.json"):
        load(buffer.getvalue())


def test_check_types_refuses_what_is_not_skops(gbm) -> None:
    with pytest.raises(ArtefactRefused, match="pickle"):
        check_types(pickle.dumps(gbm), TRUSTED)


def test_custom_function_is_refused_with_its_name(credit) -> None:
    custom = Pipeline([("sc", StandardScaler()), ("double", FunctionTransformer(_double))])
    pipeline = fit(credit, LogisticRegression(max_iter=2000), custom)
    data = sio.dumps(pipeline)
    offending = check_types(data, TRUSTED)
    assert offending == [f"{__name__}._double"]
    with pytest.raises(ArtefactRefused) as refused:
        load(data)
    assert refused.value.offending_types == offending
    assert "_double" in str(refused.value)


def test_numpy_function_in_function_transformer_is_allowed(credit) -> None:
    pipeline = fit(credit, LogisticRegression(max_iter=2000), FunctionTransformer(np.log1p))
    assert check_types(sio.dumps(pipeline), TRUSTED) == []


def test_custom_estimator_class_is_refused(credit) -> None:
    data = sio.dumps(fit(credit, HomeMadeClassifier(max_iter=2000)))
    assert check_types(data, TRUSTED) == [f"{__name__}.HomeMadeClassifier"]
    with pytest.raises(ArtefactRefused, match="HomeMadeClassifier"):
        load(data)


def test_sklearn_estimator_not_on_the_list_is_refused(credit) -> None:
    """skops trusts every sklearn estimator by default; the policy's list decides here."""
    data = sio.dumps(fit(credit, KNeighborsClassifier()))
    knn = "sklearn.neighbors._classification.KNeighborsClassifier"
    assert knn not in sio.get_untrusted_types(data=data)  # skops alone would load it
    assert check_types(data, TRUSTED) == [knn]
    with pytest.raises(ArtefactRefused) as refused:
        load(data)
    assert refused.value.offending_types == [knn]
    assert load(data, [*TRUSTED, knn]) is not None  # a policy may name it


def test_tampered_byte_fails_the_sha256(gbm_bytes) -> None:
    expected = sha256_bytes(gbm_bytes)
    tampered = bytearray(gbm_bytes)
    tampered[len(tampered) // 2] ^= 0x01
    with pytest.raises(ArtefactRefused, match="sha256 mismatch"):
        load_artefact(bytes(tampered), expected_sha256=expected, extra_trusted=TRUSTED)


def _rewrite_schema(data: bytes, edit) -> bytes:
    """A copy of a skops archive with ``edit`` applied to its parsed schema.json."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            content = source.read(name)
            if name == "schema.json":
                schema = json.loads(content)
                edit(schema)
                content = json.dumps(schema).encode()
            archive.writestr(name, content)
    return out.getvalue()


def test_array_cast_to_an_odd_numpy_type_is_refused(gbm_bytes) -> None:
    """skops rebuilds scalars as ``numpy.<class>(array)``; numpy.void(n) allocates n bytes."""

    def cast_to_void(node):
        if isinstance(node, dict):
            if node.get("__loader__") == "NdArrayNode" and node.get("__class__") == "float64":
                node["__class__"] = "void"
            for value in node.values():
                cast_to_void(value)
        elif isinstance(node, list):
            for value in node:
                cast_to_void(value)

    data = _rewrite_schema(gbm_bytes, cast_to_void)
    assert "numpy.void" in check_types(data, TRUSTED)
    with pytest.raises(ArtefactRefused, match="numpy.void"):
        load(data)


def _with_tree_edit(credit, field: str, value: int) -> bytes:
    """A skops file of a decision tree whose root node's ``field`` is set to ``value``."""
    pipeline = fit(credit, DecisionTreeClassifier(max_depth=3, random_state=0))
    tree = pipeline[-1].tree_
    state = tree.__getstate__()
    state["nodes"] = state["nodes"].copy()
    state["nodes"][field][0] = value
    bad = Tree(tree.n_features, np.asarray(tree.n_classes), tree.n_outputs)
    bad.__setstate__(state)  # sklearn accepts it; predicting would read out of bounds
    pipeline[-1].tree_ = bad
    return sio.dumps(pipeline)


@pytest.mark.parametrize(
    ("field", "value"),
    [("left_child", 10**6), ("right_child", 0), ("feature", 500)],
)
def test_tree_pointing_outside_itself_is_refused(credit, field, value) -> None:
    data = _with_tree_edit(credit, field, value)
    assert check_types(data, TRUSTED) == []  # the types are fine, the content is not
    with pytest.raises(ArtefactRefused, match="malformed tree") as refused:
        load(data)
    assert refused.value.offending_types == ["sklearn.tree._tree.Tree"]
