"""Model artefacts: skops files only, loaded through an allow-list, verified by sha256.

An uploaded model version is refused unless it is a skops zip archive (never pickle or
joblib, judged by content rather than by file name) whose every type is trusted:

* skops' own defaults (primitives, containers, numpy arrays and scalars, ufuncs, ...) —
  except that every scikit-learn *estimator* must also be on the policy's named list,
  because skops trusts all of scikit-learn's estimators by default and the policy is
  meant to choose;
* ``numpy.dtype`` and scikit-learn's tree internals (:data:`BASE_TRUSTED_TYPES`);
* the policy's named list (``extra_trusted``, by default :data:`DEFAULT_TRUSTED_ESTIMATORS`).

skops deliberately leaves the tree internals untrusted because their node arrays hold raw
indices that scikit-learn follows without bounds checks. We trust them, but only after
:func:`load_artefact` has checked every tree's indices (:func:`validate_trees`).

``skops`` is imported inside the functions: it is slow to import.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import numpy as np

from ._pickles import imported_names

SKLEARN_TREE_INTERNALS: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)

# Types trusted whatever the policy says: skops 0.16 does not trust ``numpy.dtype`` by
# default, yet every pipeline with a OneHotEncoder or SimpleImputer carries one.
BASE_TRUSTED_TYPES: tuple[str, ...] = ("numpy.dtype", *SKLEARN_TREE_INTERNALS)

DEFAULT_TRUSTED_ESTIMATORS: tuple[str, ...] = (
    # composition
    "sklearn.pipeline.Pipeline",
    "sklearn.compose._column_transformer.ColumnTransformer",
    # transformers (FunctionTransformer is ColumnTransformer's remainder="passthrough";
    # a custom function inside one is still refused, as its own untrusted type)
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.impute._base.MissingIndicator",
    # classifiers
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    # estimators those classifiers are made of
    "sklearn.tree._classes.DecisionTreeRegressor",  # GradientBoosting's stages
    "sklearn.tree._classes.ExtraTreeClassifier",  # ExtraTrees' members
    "sklearn.dummy.DummyClassifier",  # GradientBoosting's init_
    "sklearn.preprocessing._label.LabelEncoder",  # HistGradientBoosting's classes
)

# numpy scalar classes skops may rebuild from a stored array ("NdArrayNode"); others
# (numpy.void, numpy.bytes_, numpy.str_, ...) turn a tiny file into a huge allocation.
_SAFE_ARRAY_CLASSES = re.compile(
    r"numpy\.(ndarray|bool_?|u?int(8|16|32|64)|float(16|32|64)|longdouble|complex(64|128))"
)

_ZIP_MAGIC = b"PK\x03\x04"
_COMPRESSED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x5d\x00\x00", "lzma"),
    (b"\x04\x22\x4d\x18", "lz4"),
)
# A skops file's members are read whole into memory when it loads: bound what they may expand
# to (a forest of a few hundred trees takes tens of megabytes). zipfile reads no further than a
# member's declared size, so checking the declared sizes before reading bounds what is read.
_MAX_UNCOMPRESSED_BYTES = 256 << 20
_MAX_MEMBER_BYTES = 128 << 20
_MAX_SCHEMA_BYTES = 16 << 20


class ArtefactRefused(ValueError):
    """An uploaded artefact that must not be loaded; ``offending_types`` names why."""

    def __init__(self, reason: str, offending_types: Iterable[str] = ()) -> None:
        self.reason = reason
        self.offending_types: list[str] = sorted(set(offending_types))
        message = reason
        if self.offending_types:
            message += ": " + ", ".join(self.offending_types)
        super().__init__(message)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _is_pickle_stream(data: bytes) -> bool:
    """Whether ``data`` parses as pickle opcodes up to a STOP (nothing is executed)."""
    import pickletools

    try:
        for opcode, _arg, _pos in pickletools.genops(data):
            if opcode.name == "STOP":
                return True
    except Exception:  # not a pickle
        return False
    return False


def _not_skops_reason(data: bytes) -> str:
    """Name what ``data`` looks like, for a file that is not a skops archive."""
    if data[:1] == b"\x80" and len(data) > 1 and data[1] <= 5:
        return f"pickle and joblib files are refused (pickle protocol {data[1]} header)"
    for magic, kind in _COMPRESSED_MAGIC:
        if data.startswith(magic):
            return f"joblib/pickle files are refused ({kind}-compressed content)"
    if data[:1] == b"\x78" and len(data) > 1 and (data[0] << 8 | data[1]) % 31 == 0:
        return "joblib/pickle files are refused (zlib-compressed content)"
    if data[:2] == b"ZF":
        return "joblib files are refused (joblib's own compressed format)"
    if _is_pickle_stream(data):
        return "pickle files are refused (pickle opcodes)"
    return "not a skops file (a zip archive with schema.json)"


def sniff_refuse_pickle(data: bytes, *, max_uncompressed: int = _MAX_UNCOMPRESSED_BYTES,
                        max_member: int = _MAX_MEMBER_BYTES) -> None:
    """Refuse, by content, anything but a skops zip archive carrying ``schema.json``.

    Pickles (any protocol), joblib files (plain or compressed) and zip archives that
    are not skops files are refused whatever they are called. The archive must *start*
    with a zip header, so a pickle with a zip appended (a polyglot) is refused too.
    """
    if not data.startswith(_ZIP_MAGIC):
        raise ArtefactRefused(_not_skops_reason(data), imported_names(data))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if "schema.json" not in names:
                raise ArtefactRefused("not a skops file: the zip archive has no schema.json")
            total = sum(info.file_size for info in infos)
            if total > max_uncompressed:
                raise ArtefactRefused(f"skops file too large once uncompressed: {total} bytes, "
                                      f"more than the limit of {max_uncompressed}")
            for info in infos:
                limit = _MAX_SCHEMA_BYTES if info.filename == "schema.json" else max_member
                if info.file_size > limit:
                    raise ArtefactRefused(
                        f"skops file has a member too large once uncompressed: {info.filename} "
                        f"({info.file_size} bytes; the limit is {limit})")
            schema = json.loads(archive.read("schema.json"))
    except RecursionError as exc:
        raise ArtefactRefused("not a readable skops file: its schema.json is nested too "
                              "deeply") from exc
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtefactRefused(f"not a readable skops file ({exc})") from exc
    if not isinstance(schema, dict) or "protocol" not in schema or "__class__" not in schema:
        raise ArtefactRefused("not a skops file: schema.json lacks skops' protocol header")


def _schema(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("schema.json"))


def _schema_nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every object node (a dict with ``__class__`` and ``__module__``) in a skops schema."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__class__" in item and "__module__" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


@lru_cache(maxsize=1)
def _sklearn_estimator_names() -> frozenset[str]:
    """Fully qualified names of scikit-learn's estimators (all of which skops trusts)."""
    from sklearn.utils import all_estimators

    return frozenset(f"{cls.__module__}.{cls.__name__}" for _, cls in all_estimators())


def allowed_types(extra_trusted: Iterable[str]) -> list[str]:
    """The ``trusted`` list passed to skops: the base types and the policy's names."""
    return sorted(set(BASE_TRUSTED_TYPES) | set(extra_trusted))


def check_types(data: bytes, extra_trusted: list[str]) -> list[str]:
    """Names of the types in skops file ``data`` that the allow-list does not cover.

    That is skops' own untrusted types (``skops.io.get_untrusted_types``) outside
    :data:`BASE_TRUSTED_TYPES` and ``extra_trusted``; every scikit-learn estimator that
    is not in ``extra_trusted``; and numpy scalar casts skops would perform on stored
    arrays other than plain numeric ones. ``[]`` when the file is safe to load.
    Raises :class:`ArtefactRefused` if ``data`` is not a skops file at all.
    """
    key = (sha256_bytes(data), frozenset(extra_trusted))
    if key not in _CHECKED:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = _offending_types(data, extra_trusted)
    return list(_CHECKED[key])


# What `check_types` found, by the artefact's sha256 and the allow-list: a version's artefact is
# checked on upload, self-check and every load, and reading its schema takes a good part of a
# second. Refusals of what is not a skops file are raised, not kept.
_CHECKED: dict[tuple[str, frozenset[str]], list[str]] = {}
_CHECKED_MAX = 64


def _offending_types(data: bytes, extra_trusted: list[str]) -> list[str]:
    from skops.io import get_untrusted_types

    sniff_refuse_pickle(data)
    allowed = set(allowed_types(extra_trusted))
    try:
        untrusted = get_untrusted_types(data=data)
    except Exception as exc:  # a malformed schema: refuse rather than guess
        raise ArtefactRefused(f"not a readable skops file ({exc})") from exc
    offending = {name for name in untrusted if name not in allowed}
    estimators = _sklearn_estimator_names()
    for node in _schema_nodes(_schema(data)):
        name = f"{node['__module__']}.{node['__class__']}"
        if name in estimators and name not in allowed:
            offending.add(name)
        if node.get("__loader__") == "NdArrayNode" and not _SAFE_ARRAY_CLASSES.fullmatch(name):
            offending.add(name)
    return sorted(offending)


def load_artefact(data: bytes, *, expected_sha256: str, extra_trusted: list[str]) -> object:
    """Load a skops artefact after checking its sha256, its format and its types.

    Raises :class:`ArtefactRefused` on a sha256 mismatch, on anything that is not a
    skops file, on types outside the allow-list, and on trees whose node arrays point
    outside themselves.
    """
    actual = sha256_bytes(data)
    if actual != expected_sha256.lower():
        raise ArtefactRefused(
            f"sha256 mismatch: expected {expected_sha256}, the artefact has {actual}"
        )
    offending = check_types(data, extra_trusted)  # sniffs the format first
    if offending:
        raise ArtefactRefused("the artefact carries types outside the allow-list", offending)

    from skops.io import loads

    try:
        model = loads(data, trusted=allowed_types(extra_trusted))
    except Exception as exc:  # any failure to rebuild is a refusal
        raise ArtefactRefused(f"the skops file could not be loaded ({exc})") from exc
    validate_trees(model)
    return model


# --- tree validation -----------------------------------------------------------------


def validate_trees(model: object) -> None:
    """Check every decision tree inside ``model`` only points at nodes and features it has.

    scikit-learn follows the child and feature indices of ``Tree`` and ``TreePredictor``
    without bounds checks, so a crafted file could otherwise read outside memory.
    Raises :class:`ArtefactRefused` naming the faulty type.
    """
    from sklearn.base import BaseEstimator
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.pipeline import Pipeline
    from sklearn.tree._tree import Tree

    seen: set[int] = set()

    def visit(obj: Any, limit: int | None) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, Tree):
            _check_tree(obj, limit)
        elif isinstance(obj, TreePredictor):
            _check_predictor(obj, limit)
        elif isinstance(obj, BaseEstimator):
            width = getattr(obj, "n_features_in_", None)
            if isinstance(obj, Pipeline | ColumnTransformer):
                limit = None  # a composite's width is not its members' width
            elif isinstance(width, int | np.integer):
                limit = int(width) if limit is None else min(limit, int(width))
            for value in vars(obj).values():
                visit(value, limit)
        elif isinstance(obj, list | tuple):
            for value in obj:
                visit(value, limit)
        elif isinstance(obj, dict):
            for value in obj.values():
                visit(value, limit)
        elif isinstance(obj, np.ndarray) and obj.dtype == object:
            for value in obj.ravel():
                visit(value, limit)

    visit(model, None)


def _refuse_tree(name: str, why: str) -> None:
    raise ArtefactRefused(f"malformed tree in the artefact ({why})", [name])


def _check_links(
    name: str, left: np.ndarray, right: np.ndarray, leaf: np.ndarray, count: int
) -> None:
    """Internal nodes' children come after them and inside the array; leaves have none."""
    ids = np.arange(count)
    inner = ~leaf
    for child in (left, right):
        c = child.astype(np.int64)
        if np.any(inner & ((c <= ids) | (c >= count))):
            _refuse_tree(name, "a child index points outside the tree")


def _check_features(name: str, feature: np.ndarray, inner: np.ndarray, limit: int) -> None:
    f = feature.astype(np.int64)[inner]
    if f.size and (f.min() < 0 or f.max() >= limit):
        _refuse_tree(name, "a split uses a feature the model does not have")


def _check_tree(tree: Any, limit: int | None) -> None:
    name = SKLEARN_TREE_INTERNALS[0]
    if tree.node_count < 1 or tree.node_count > tree.capacity:
        _refuse_tree(name, "node count exceeds the stored nodes")
    left, right = tree.children_left, tree.children_right
    leaf = left == -1
    if np.any(leaf != (right == -1)):
        _refuse_tree(name, "a node has exactly one child")
    _check_links(name, left, right, leaf, tree.node_count)
    width = tree.n_features if limit is None else min(limit, tree.n_features)
    _check_features(name, tree.feature, ~leaf, width)


def _check_predictor(predictor: Any, limit: int | None) -> None:
    name = SKLEARN_TREE_INTERNALS[1]
    nodes = predictor.nodes
    if nodes.ndim != 1 or nodes.size < 1:
        _refuse_tree(name, "empty node array")
    if limit is None:
        _refuse_tree(name, "a histogram tree outside a fitted estimator")
    leaf = nodes["is_leaf"].astype(bool)
    _check_links(name, nodes["left"], nodes["right"], leaf, nodes.size)
    _check_features(name, nodes["feature_idx"], ~leaf, limit)
    if np.any(~leaf & nodes["is_categorical"].astype(bool)):
        # their bitset look-ups go through further unchecked index maps
        _refuse_tree(name, "native categorical splits are not supported; one-hot encode")
