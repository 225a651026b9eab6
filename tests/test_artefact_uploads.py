"""Artefact uploads through the API: anything but a safe skops file is refused with 422, the
reason and the offending types named, and nothing is stored — no row, no file."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask

from . import builders as b
from .chain import ok
from .conftest import Api, table_counts

# The artefact is refused before any dataset is looked up, so the ids need not exist.
METADATA = {"label_column": "credit", "positive_label": "good", "stage": "production",
            "summary": "Chance of repaying, 0 to 1.", "evaluation_dataset_ids": [1],
            "background": {"dataset_id": 1}}


def shout(x: Any) -> Any:
    """A custom function: skops stores a reference to it, which would run code at load."""
    return x * 2


def small_pipeline() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    rng = np.random.default_rng(0)
    X = rng.random((60, 3))
    y = (X[:, 0] > 0.5).astype(int)
    return Pipeline([("shout", FunctionTransformer(shout)),
                     ("model", LogisticRegression())]).fit(X, y)


def joblib_bytes(obj: Any, tmp_path: Path, compress: Any) -> bytes:
    import joblib

    path = tmp_path / f"model-{compress!r}.joblib"
    joblib.dump(obj, path, compress=compress)
    return path.read_bytes()


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.fixture
def model(api: Api) -> str:
    return ok(api.post("/api/v1/models", json=b.model("credit-risk")), 201)["name"]


def refused(app: Flask, api: Api, model: str, artefact: bytes) -> dict[str, Any]:
    """Upload ``artefact`` (always called model.skops); assert 422 and that nothing changed."""
    before = table_counts(app)
    status, body = b.upload_version(api, model, artefact, METADATA)
    assert status == 422, body
    assert table_counts(app) == before
    assert files_under(Path(app.config["DATA_DIR"])) == []
    error = body["error"]
    assert error["code"] == "invalid" and error["message"].startswith("artefact refused")
    return error["details"]


class Hostile:
    """Unpickling this would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_pickle_is_refused_by_content_naming_what_it_would_import(
        app: Flask, api: Api, model: str, tmp_path: Path) -> None:
    details = refused(app, api, model, pickle.dumps(small_pipeline()))
    assert "pickle" in details["artefact"][0]
    # the imports are read from the opcodes; nothing is imported or run
    assert {"sklearn.pipeline.Pipeline", f"{__name__}.shout"} <= set(details["offending_types"])
    marker = tmp_path / "ran"
    for protocol in (0, 2, pickle.HIGHEST_PROTOCOL):
        details = refused(app, api, model, pickle.dumps(Hostile(marker), protocol=protocol))
        assert details["offending_types"] == [f"{os.system.__module__}.system"], protocol
    assert not marker.exists()


@pytest.mark.parametrize("compress, kind", [(0, "pickle"), (3, "zlib"), (("gzip", 3), "gzip"),
                                            (("lzma", 3), "lzma"), (("bz2", 3), "bz2")],
                         ids=["plain", "zlib", "gzip", "lzma", "bz2"])
def test_joblib_files_are_refused(app: Flask, api: Api, model: str, tmp_path: Path,
                                  compress: Any, kind: str) -> None:
    details = refused(app, api, model, joblib_bytes(small_pipeline(), tmp_path, compress))
    assert "joblib" in details["artefact"][0] and kind in details["artefact"][0]
    assert "sklearn.pipeline.Pipeline" in details["offending_types"]


def test_skops_with_a_custom_function_is_refused_naming_it(app: Flask, api: Api,
                                                           model: str) -> None:
    import skops.io as sio

    details = refused(app, api, model, sio.dumps(small_pipeline()))
    assert details["offending_types"] == [f"{__name__}.shout"]
    assert f"{__name__}.shout" in details["artefact"][0]


def test_skops_with_an_estimator_off_the_policy_list_is_refused(app: Flask, api: Api,
                                                                model: str) -> None:
    import skops.io as sio
    from sklearn.svm import SVC

    rng = np.random.default_rng(1)
    X = rng.random((40, 2))
    details = refused(app, api, model, sio.dumps(SVC().fit(X, (X[:, 1] > 0.5).astype(int))))
    assert details["offending_types"] == ["sklearn.svm._classes.SVC"]


def test_zip_that_is_not_skops_and_empty_files_are_refused(app: Flask, api: Api,
                                                           model: str) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.pkl", pickle.dumps({"a": 1}))
    details = refused(app, api, model, buffer.getvalue())
    assert "schema.json" in details["artefact"][0]
    before = table_counts(app)
    status, body = b.upload_version(api, model, b"", METADATA)
    assert status == 422 and "empty" in body["error"]["message"]
    assert table_counts(app) == before
