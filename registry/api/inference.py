"""The Open Inference Protocol (v2), so standard inference clients work unchanged.

Each input tensor is one feature, holding one value per case (shape ``[n]`` or ``[n, 1]``);
categories travel as BYTES, numbers as INT64 / FP64 (any numeric datatype is accepted). The
request's ``parameters.purpose`` names the purpose (required); ``parameters.version`` (or the
``/versions/<v>/infer`` URL) pins a version.

Inputs may use the binary tensor extension (tritonclient's default) or plain JSON, and the body
may be gzip- or deflate-compressed. Outputs are ``score``, ``band``, ``receipt_id``,
``base_value``, ``contributions`` (``[n, features]``, the features in the order of the request's
inputs and named in the output's ``features`` parameter) and ``explanation`` (each case's
explanation as JSON); they are sent as binary tensors when the request asks
(``parameters.binary_data_output``, or an output's ``parameters.binary_data``), else as JSON.
Approval facts travel as response parameters.

Errors follow the protocol, ``{"error": "<message>"}`` (standard clients read the message from
there), with Gatehouse's ``code`` and field-by-field ``details`` beside it.

Health endpoints answer 200 for true and 4xx/5xx for false, as the protocol says.
"""

from __future__ import annotations

import json
import math
import zlib
from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from sqlalchemy import text

from ..governance.errors import Conflict, Invalid, Unavailable
from ..governance.inputs import json_loads, small_int
from ..platform.services import db, now, services
from ..serving import loaded, verdicts, warm
from ..serving.scoring import MAX_PURPOSE
from ..usecases import scoring
from .auth import unit
from .discovery import features, served_version, visible_model
from .scoring import refusals_limited

blp = Blueprint("inference", __name__, url_prefix="/v2",
                description="Open Inference Protocol v2: health, model metadata, inference.")

NUMPY = {"FP64": "<f8", "FP32": "<f4", "FP16": "<f2", "INT64": "<i8", "INT32": "<i4",
         "INT16": "<i2", "INT8": "<i1", "UINT64": "<u8", "UINT32": "<u4", "UINT16": "<u2",
         "UINT8": "<u1", "BOOL": "?"}
OUTPUTS = ("score", "band", "receipt_id", "base_value", "contributions", "explanation")
HEADER_LENGTH = "Inference-Header-Content-Length"


@blp.after_request
def protocol_errors(response: Response) -> Response:
    """Reshape Gatehouse's error body, ``{"error": {"code", "message", "details"}}``, to the
    protocol's ``{"error": message}``, keeping the code and details beside it."""
    if response.status_code < 400 or not response.is_json:
        return response
    body = response.get_json(silent=True)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        response.set_data(json.dumps({"error": error.get("message", ""),
                                      "code": error.get("code"),
                                      "details": error.get("details") or {}}))
    return response


@blp.route("")
@blp.response(200)
def server_metadata() -> Any:
    return {"name": "gatehouse", "version": "1", "extensions": ["binary_tensor_data"]}


@blp.route("/health/live")
@blp.response(200)
def live() -> Any:
    return {"live": True}


@blp.route("/health/ready")
@blp.response(200)
@blp.alt_response(503, description="the database cannot be reached, or the approved models are "
                                   "still loading")
def ready() -> Any:
    """Ready once the database answers and every servable approved version is loaded (see
    :mod:`..serving.warm`): a worker still loading its models answers 503."""
    db().execute(text("SELECT 1"))
    if not warm.ready(services()):
        raise Unavailable("not ready: the approved models are still loading",
                          {"ready": ["loading the approved models"]})
    return {"ready": True, "models_loaded": loaded.count()}


@blp.route("/models/<name>")
@blp.route("/models/<name>/versions/<version>")
@blp.response(200)
def metadata(name: str, version: str | None = None) -> Any:
    model = visible_model(name)
    served = served_version(model, version)
    schema = features(served)
    return {
        "name": model.name,
        "versions": [str(v.number) for v in model.versions if v.state == "approved"],
        "platform": "sklearn",
        "parameters": {"purpose": model.purpose, "summary": served.summary if served else None},
        "inputs": [{"name": f["name"], "datatype": f["datatype"], "shape": [-1],
                    "parameters": {k: v for k, v in f.items() if k not in ("name", "datatype")}}
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
@blp.route("/models/<name>/versions/<version>/ready")
@blp.response(200)
def model_ready(name: str, version: str | None = None) -> Any:
    """200 when the model (or version) may be served today; 409 with the reason when not."""
    model = visible_model(name)
    number = _number(version) if version is not None else None
    verdict = verdicts.verdict(db(), model.organisation_id, model.name, number,
                               services().policy, now())
    if not verdict.ok:
        raise Conflict(verdict.reason, {"ready": False, "reason": verdict.reason})
    return {"name": name, "version": str(verdict.number), "ready": True}


@blp.route("/models/<name>/infer", methods=["POST"])
@blp.route("/models/<name>/versions/<version>/infer", methods=["POST"])
@blp.doc(requestBody={"content": {
    "application/json": {"schema": {"type": "object"}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
}})
@blp.response(200)
@blp.alt_response(429, description="too many refused score calls from this client")
def infer(name: str, version: str | None = None) -> Any:
    body, tensors = _parse_request()
    params = body.get("parameters") or {}
    if not isinstance(params, dict):
        raise Invalid("parameters must be an object", {"parameters": ["not an object"]})
    purpose = params.get("purpose")
    if not isinstance(purpose, str) or not purpose:
        raise Invalid("the request needs parameters.purpose", {"parameters.purpose": ["missing"]})
    if len(purpose) > MAX_PURPOSE:
        raise Invalid(f"parameters.purpose is longer than {MAX_PURPOSE} characters",
                      {"parameters.purpose": [f"at most {MAX_PURPOSE} characters"]})
    pinned = version if version is not None else params.get("version")
    number = None if pinned in (None, "") else _number(pinned)
    with refusals_limited():
        result = scoring.score(unit(), name, purpose, _cases(tensors), number)
    return _answer(name, body, list(tensors), result)


def _number(version: Any) -> int:
    number = small_int(str(version)) if isinstance(version, str | int) else None
    if number is None:
        raise Invalid(f"version {str(version)[:40]!r} is not a version number",
                      {"version": ["must be a whole number"]})
    return number


# --- request ------------------------------------------------------------------------------

def _body() -> bytes:
    raw = request.get_data(cache=False)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "deflate"):
        raise Invalid(f"unsupported Content-Encoding {encoding!r}",
                      {"Content-Encoding": ["use gzip, deflate or none"]})
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 100 * 1024 * 1024
    inflater = zlib.decompressobj(zlib.MAX_WBITS | (16 if encoding == "gzip" else 0))
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise Invalid(f"the body is not valid {encoding} data",
                      {"body": [str(exc)]}) from exc
    if len(out) > limit:
        raise Invalid(f"the body is larger than {limit} bytes once decompressed",
                      {"body": [f"at most {limit} bytes"]})
    return out


def _parse_request() -> tuple[dict[str, Any], dict[str, list[Any]]]:
    raw = _body()
    header_length = request.headers.get(HEADER_LENGTH)
    if header_length is None:
        json_part, binary = raw, b""
    else:
        length = small_int(header_length)
        if length is None or length > len(raw):
            raise Invalid(f"{HEADER_LENGTH} does not fit the body",
                          {HEADER_LENGTH: [f"{header_length!r} for {len(raw)} bytes"]})
        json_part, binary = raw[:length], raw[length:]
    body = json_loads(json_part or b"{}", "body")
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise Invalid("the request needs a list of inputs", {"inputs": ["missing"]})
    tensors: dict[str, list[Any]] = {}
    offset = 0
    for i, tensor in enumerate(inputs):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise Invalid("each input needs a name", {f"inputs.{i}": ["no name"]})
        name = tensor["name"]
        if name in tensors:
            raise Invalid(f"input {name!r} is given twice", {name: ["given twice"]})
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                raise Invalid(f"input {name!r}: binary_data_size does not fit the body",
                              {name: ["binary_data_size beyond the binary data"]})
            values = _decode(tensor, binary[offset: offset + size])
            offset += size
        else:
            values = _flatten(tensor.get("data"))
        _check_shape(tensor, len(values))
        tensors[name] = values
    if offset != len(binary):
        raise Invalid("the binary data is longer than the inputs declare",
                      {"body": [f"{len(binary) - offset} bytes left over"]})
    return body, tensors


def _check_shape(tensor: dict[str, Any], count: int) -> None:
    shape = tensor.get("shape")
    if shape is None:
        return
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise Invalid(f"input {tensor['name']!r} has a bad shape", {tensor["name"]: ["shape"]})
    if math.prod(shape) != count or (shape and math.prod(shape[1:]) != 1):
        raise Invalid(f"input {tensor['name']!r} must hold one value per case (shape [n] or "
                      f"[n, 1]); shape {shape} with {count} values",
                      {tensor["name"]: [f"shape {shape} with {count} values"]})


def _decode(tensor: dict[str, Any], chunk: bytes) -> list[Any]:
    import numpy as np

    datatype = tensor.get("datatype", "")
    name = tensor["name"]
    if datatype == "BYTES":
        values, pos = [], 0
        while pos < len(chunk):
            if pos + 4 > len(chunk):
                raise Invalid(f"input {name!r}: truncated BYTES element", {name: ["truncated"]})
            length = int.from_bytes(chunk[pos: pos + 4], "little")
            if pos + 4 + length > len(chunk):
                raise Invalid(f"input {name!r}: truncated BYTES element", {name: ["truncated"]})
            try:
                values.append(chunk[pos + 4: pos + 4 + length].decode())
            except UnicodeDecodeError as exc:
                raise Invalid(f"input {name!r} is not UTF-8 text", {name: [str(exc)]}) from exc
            pos += 4 + length
        return values
    if datatype not in NUMPY:
        raise Invalid(f"input {name!r}: unsupported datatype {datatype!r}",
                      {name: [f"use one of BYTES, {', '.join(NUMPY)}"]})
    width = np.dtype(NUMPY[datatype]).itemsize
    if len(chunk) % width:
        raise Invalid(f"input {name!r}: {len(chunk)} bytes is not a whole number of {datatype}",
                      {name: ["binary_data_size"]})
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
    names = list(tensors)
    return [dict(zip(names, values, strict=True)) for values in zip(*tensors.values(), strict=True)]


# --- response -----------------------------------------------------------------------------

def _answer(name: str, body: dict[str, Any], features: list[str], result: dict[str, Any]
            ) -> Response:
    """The v2 response; ``contributions`` columns follow the order of the request's inputs."""
    results = result["results"]
    n = len(results)
    contributions = []
    for r in results:
        by_feature = {c["feature"]: c["contribution"] for c in r["explanation"]["contributions"]}
        contributions.extend(by_feature[f] for f in features)
    tensors: dict[str, tuple[str, list[int], list[Any]]] = {
        "score": ("FP64", [n], [r["score"] for r in results]),
        "band": ("BYTES", [n], [r["band"] for r in results]),
        "receipt_id": ("BYTES", [n], [r["receipt_id"] for r in results]),
        "base_value": ("FP64", [n], [r["explanation"]["base_value"] for r in results]),
        "contributions": ("FP64", [n, len(features)], contributions),
        "explanation": ("BYTES", [n], [json.dumps(r["explanation"], separators=(",", ":"))
                                       for r in results]),
    }
    wanted = _requested_outputs(body)
    outputs, blobs = [], []
    for output, binary in wanted:
        datatype, shape, data = tensors[output]
        entry: dict[str, Any] = {"name": output, "datatype": datatype, "shape": shape}
        if output == "contributions":
            entry["parameters"] = {"features": ",".join(features)}
        if binary:
            blob = _encode(datatype, data)
            entry.setdefault("parameters", {})["binary_data_size"] = len(blob)
            blobs.append(blob)
        else:
            entry["data"] = data
        outputs.append(entry)
    header = {
        "model_name": name,
        "model_version": str(result["version"]),
        "id": body.get("id") or results[0]["receipt_id"],
        "parameters": {"approval_id": result["approval_id"],
                       "approved_until": str(result["approved_until"]),
                       "purpose": result["purpose"],
                       "notice": results[0]["explanation"]["notice"]},
        "outputs": outputs,
    }
    head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    if not blobs:
        return current_app.response_class(head, mimetype="application/json")
    response = current_app.response_class(b"".join([head, *blobs]),
                                          mimetype="application/octet-stream")
    response.headers[HEADER_LENGTH] = str(len(head))
    return response


def _requested_outputs(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """(output name, send as binary) for each output to send, in the order asked."""
    params = body.get("parameters") or {}
    default_binary = bool(params.get("binary_data_output", False))
    requested = body.get("outputs")
    if not requested:
        return [(o, default_binary) for o in OUTPUTS]
    if not isinstance(requested, list):
        raise Invalid("outputs must be a list", {"outputs": ["not a list"]})
    wanted = []
    for i, output in enumerate(requested):
        name = output.get("name") if isinstance(output, dict) else None
        if name not in OUTPUTS:
            raise Invalid(f"unknown output {name!r}",
                          {f"outputs.{i}": [f"one of {', '.join(OUTPUTS)}"]})
        binary = (output.get("parameters") or {}).get("binary_data", default_binary)
        wanted.append((name, bool(binary)))
    return wanted


def _encode(datatype: str, data: list[Any]) -> bytes:
    if datatype == "BYTES":
        parts = []
        for value in data:
            raw = value.encode()
            parts.append(len(raw).to_bytes(4, "little") + raw)
        return b"".join(parts)
    import numpy as np

    return np.asarray(data, dtype=NUMPY[datatype]).tobytes()
