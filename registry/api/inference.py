"""The Open Inference Protocol (v2), so standard inference clients work unchanged.

Explanations and receipt ids travel as extra outputs; approval facts as response parameters.
Inputs may use the binary tensor extension (tritonclient's default) or plain JSON.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request
from flask_smorest import Blueprint
from sqlalchemy import select, text

from ..governance.errors import Invalid, NotFound
from ..governance.permissions import require
from ..records import ModelVersion, PredictiveModel
from ..serving import scoring
from ..state import db, services
from . import current_actor
from .governed import now

blp = Blueprint("inference", __name__, url_prefix="/v2",
                description="Open Inference Protocol v2: health, model metadata, inference.")

DATATYPES = {"integer": "INT64", "number": "FP64", "boolean": "BOOL", "category": "BYTES",
             "string": "BYTES", "date": "BYTES"}
NUMPY = {"FP64": "<f8", "FP32": "<f4", "INT64": "<i8", "INT32": "<i4", "INT16": "<i2",
         "INT8": "<i1", "UINT8": "<u1", "BOOL": "?"}


@blp.route("/health/live")
@blp.response(200)
def live() -> Any:
    return {"live": True}


@blp.route("/health/ready")
@blp.response(200)
def ready() -> Any:
    db().execute(text("SELECT 1"))
    return {"ready": True}


def _model(name: str) -> PredictiveModel:
    model = db().scalars(select(PredictiveModel).where(PredictiveModel.name == name)).first()
    if model is None:
        raise NotFound(f"no model named {name!r}", {"model": [name]})
    return model


def _served_version(model: PredictiveModel) -> ModelVersion | None:
    approved = [v for v in model.versions if v.state == "approved"]
    return approved[-1] if approved else (model.versions[-1] if model.versions else None)


@blp.route("/models/<name>")
@blp.response(200)
def metadata(name: str) -> Any:
    require(current_actor(), "score") if current_actor().kind == "client" else \
        require(current_actor(), "read")
    model = _model(name)
    version = _served_version(model)
    schema = version.feature_schema if version else []
    return {
        "name": model.name,
        "versions": [str(v.number) for v in model.versions if v.state == "approved"],
        "platform": "sklearn",
        "inputs": [{"name": f["name"], "datatype": DATATYPES[f["type"]], "shape": [-1]}
                   for f in schema],
        "outputs": [
            {"name": "score", "datatype": "FP64", "shape": [-1]},
            {"name": "band", "datatype": "BYTES", "shape": [-1]},
            {"name": "receipt_id", "datatype": "BYTES", "shape": [-1]},
            {"name": "base_value", "datatype": "FP64", "shape": [-1]},
            {"name": "contributions", "datatype": "FP64", "shape": [-1, len(schema)]},
            {"name": "explanation", "datatype": "BYTES", "shape": [-1]},
        ],
    }


@blp.route("/models/<name>/ready")
@blp.response(200)
def model_ready(name: str) -> Any:
    require(current_actor(), "read") if current_actor().kind != "client" else None
    model = _model(name)
    return {"name": name, "ready": _served_version(model) is not None}


@blp.route("/models/<name>/infer", methods=["POST"])
@blp.route("/models/<name>/versions/<version>/infer", methods=["POST"])
@blp.doc(requestBody={"content": {"application/json": {"schema": {"type": "object"}}}})
@blp.response(200)
def infer(name: str, version: str | None = None) -> Any:
    body, tensors = _parse_request()
    params = body.get("parameters") or {}
    purpose = params.get("purpose")
    if not isinstance(purpose, str) or not purpose:
        raise Invalid("the request needs parameters.purpose", {"parameters.purpose": ["missing"]})
    cases = _cases(tensors)
    number = int(version) if version else params.get("version")
    result = scoring.score(db(), current_actor(), name, purpose, cases, services().policy,
                           services().store, now(), number)
    db().commit()
    results = result["results"]
    features = [c["feature"] for c in sorted(results[0]["explanation"]["contributions"],
                                             key=lambda c: c["feature"])]
    contributions = [
        [next(c["contribution"] for c in r["explanation"]["contributions"] if c["feature"] == f)
         for f in features] for r in results]
    n = len(results)
    return {
        "model_name": name,
        "model_version": str(result["version"]),
        "id": body.get("id", results[0]["receipt_id"]),
        "parameters": {"approval_id": result["approval_id"],
                       "valid_until": str(result["valid_until"]), "purpose": purpose,
                       "notice": results[0]["explanation"]["notice"]},
        "outputs": [
            {"name": "score", "datatype": "FP64", "shape": [n], "data": [r["score"] for r in results]},
            {"name": "band", "datatype": "BYTES", "shape": [n], "data": [r["band"] for r in results]},
            {"name": "receipt_id", "datatype": "BYTES", "shape": [n],
             "data": [r["receipt_id"] for r in results]},
            {"name": "base_value", "datatype": "FP64", "shape": [n],
             "data": [r["explanation"]["base_value"] for r in results]},
            {"name": "contributions", "datatype": "FP64", "shape": [n, len(features)],
             "parameters": {"features": ",".join(features)},
             "data": [x for row in contributions for x in row]},
            {"name": "explanation", "datatype": "BYTES", "shape": [n],
             "data": [json.dumps(r["explanation"]) for r in results]},
        ],
    }


def _parse_request() -> tuple[dict[str, Any], dict[str, list[Any]]]:
    raw = request.get_data()
    header_length = request.headers.get("Inference-Header-Content-Length")
    json_part, binary = (raw, b"") if header_length is None else \
        (raw[: int(header_length)], raw[int(header_length):])
    try:
        body = json.loads(json_part or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Invalid("the request body is not JSON", {"body": [str(exc)]}) from exc
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise Invalid("the request needs a list of inputs", {"inputs": ["missing"]})
    tensors: dict[str, list[Any]] = {}
    offset = 0
    for i, tensor in enumerate(inputs):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise Invalid("each input needs a name", {f"inputs.{i}": ["no name"]})
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            values = _decode(tensor, binary[offset: offset + int(size)])
            offset += int(size)
        else:
            values = _flatten(tensor.get("data"))
        tensors[tensor["name"]] = values
    return body, tensors


def _decode(tensor: dict[str, Any], chunk: bytes) -> list[Any]:
    import numpy as np

    datatype = tensor.get("datatype", "")
    if datatype == "BYTES":
        values, pos = [], 0
        while pos < len(chunk):
            length = int.from_bytes(chunk[pos: pos + 4], "little")
            values.append(chunk[pos + 4: pos + 4 + length].decode())
            pos += 4 + length
        return values
    if datatype not in NUMPY:
        raise Invalid(f"unsupported datatype {datatype!r}", {tensor["name"]: ["datatype"]})
    return np.frombuffer(chunk, dtype=NUMPY[datatype]).tolist()


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    out: list[Any] = []
    for item in data:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _cases(tensors: dict[str, list[Any]]) -> list[dict[str, Any]]:
    lengths = {len(v) for v in tensors.values()}
    if len(lengths) != 1:
        raise Invalid("every input must hold the same number of cases",
                      {name: [f"{len(v)} values"] for name, v in tensors.items()})
    n = lengths.pop()
    cases = []
    for i in range(n):
        case = {}
        for name, values in tensors.items():
            value = values[i]
            case[name] = value.decode() if isinstance(value, bytes) else value
        cases.append(case)
    return cases
