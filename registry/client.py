"""A small Python client for Gatehouse's JSON API, for data scientists and frontline tools.

Register a fitted scikit-learn pipeline with the data it rests on in a few lines::

    from registry.client import Gatehouse

    gh = Gatehouse("https://gatehouse.example.gov.uk", token)
    dsa = gh.register_agreement(reference="DSA-12", title="...", provider="...", ...)
    data = gh.register_dataset("german-credit", frame=train_df, title="German credit applicants",
                               classification="personal", purpose="credit_risk_research",
                               label_column="credit", protected=["sex", "age"],
                               agreements=[dsa["id"]])
    held_out = gh.register_dataset("german-credit-held-out", frame=test_df, ...)  # as above
    gh.register_model("credit-risk", title="...", purpose="credit_risk_research", ...)
    version = gh.register_version("credit-risk", pipeline, training=data["id"],
                                  evaluation=held_out["id"], background=held_out["id"],
                                  label_column="credit", positive_label="good")
    gh.run_bias_audit("credit-risk", version["number"], dataset=held_out["id"])
    gh.configure_drift_monitor("credit-risk", version["number"])
    gh.submit("version", ("credit-risk", version["number"]))
    print(gh.gate("version", ("credit-risk", version["number"])))

and, for a frontline tool holding an API client's token::

    Gatehouse(url, client_token).score("credit-risk", "credit_risk_research", {...})

It needs only the standard library (and skops and pandas for the calls that take a pipeline or
a data frame). One keep-alive connection is kept per client object; calls are thread-safe.
Every refusal raises :class:`GatehouseError` with the API's status, code, message and details.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    import pandas as pd

Key = int | str | tuple[str, int] | Mapping[str, Any]
KINDS = ("agreement", "dataset", "dpia", "model", "version")
_RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class GatehouseError(Exception):
    """A request Gatehouse refused: ``status``, ``code``, ``message`` and field ``details``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.details = details or {}


def _default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def infer_columns(frame: pd.DataFrame, *, protected: Iterable[str] = (),
                  descriptions: Mapping[str, str] | None = None,
                  max_categories: int = 200) -> list[dict[str, Any]]:
    """A dataset's column schema from a data frame's dtypes: booleans, integers, numbers, dates,
    and text — as categories (with the values seen) when there are at most ``max_categories``.

    No minimum or maximum is set: scoring refuses values outside them, and the range seen in
    training is rarely the range that is possible. Give ``columns`` yourself for those.
    """
    import pandas as pd

    marked, described = set(protected), dict(descriptions or {})
    unknown = (marked | set(described)) - {str(c) for c in frame.columns}
    if unknown:
        raise ValueError(f"not columns of the frame: {sorted(unknown)}")
    columns = []
    for name in frame.columns:
        series = frame[name]
        column: dict[str, Any] = {"name": str(name),
                                  "description": described.get(str(name), ""),
                                  "protected": str(name) in marked,
                                  "nullable": bool(series.isna().any())}
        if pd.api.types.is_bool_dtype(series):
            column["type"] = "boolean"
        elif pd.api.types.is_integer_dtype(series):
            column["type"] = "integer"
        elif pd.api.types.is_numeric_dtype(series):
            column["type"] = "number"
        elif pd.api.types.is_datetime64_any_dtype(series):
            column["type"] = "date"
        else:
            values = sorted({str(v) for v in series.dropna().unique()})
            if len(values) <= max_categories:
                column.update(type="category", allowed=values)
            else:
                column["type"] = "string"
        columns.append(column)
    return columns


class Gatehouse:
    """A connection to one Gatehouse service, acting as the owner of ``token``."""

    def __init__(self, url: str, token: str, *, timeout: float = 120.0) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url, self.token, self.timeout = url, token, timeout
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._prefix = parts.path.rstrip("/")
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    # --- transport --------------------------------------------------------------------------

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = cls(self._host, self._port, timeout=self.timeout)
        return self._connection

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> Gatehouse:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def request(self, method: str, path: str, *, json_body: Any = None,
                body: bytes | None = None, content_type: str | None = None) -> Any:
        """Send one request to ``path`` (under the service URL); the decoded JSON answer."""
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if json_body is not None:
            body = json.dumps(json_body, default=_default).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        with self._lock:
            for attempt in (1, 2):
                reused = self._connection is not None and self._connection.sock is not None
                connection = self._connect()
                try:
                    connection.request(method, self._prefix + path, body=body, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    break
                except _RETRYABLE:
                    # a keep-alive connection the server had closed: retry once on a new one
                    self._connection = None
                    connection.close()
                    if attempt == 2 or not reused:
                        raise
                except BaseException:
                    self._connection = None
                    connection.close()
                    raise
        return self._decode(response.status, response.getheader("Content-Type") or "", data)

    @staticmethod
    def _decode(status: int, content_type: str, data: bytes) -> Any:
        payload: Any = None
        if data and "json" in content_type:
            payload = json.loads(data)
        if status >= 400:
            error = payload.get("error") if isinstance(payload, dict) else None
            if isinstance(error, dict):
                raise GatehouseError(status, error.get("code", "error"),
                                     error.get("message", ""), error.get("details"))
            message = error if isinstance(error, str) else data.decode(errors="replace")[:500]
            raise GatehouseError(status, "error", message,
                                 payload.get("details") if isinstance(payload, dict) else None)
        return payload if payload is not None else data

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json_body={} if body is None else body)

    def _multipart(self, method: str, path: str, files: Mapping[str, tuple[str, bytes]],
                   fields: Mapping[str, str] | None = None) -> Any:
        boundary = f"gatehouse-{uuid.uuid4().hex}"
        chunks: list[bytes] = []
        for name, value in (fields or {}).items():
            chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                          f"\r\n\r\n".encode() + value.encode() + b"\r\n")
        for name, (filename, content) in files.items():
            chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                          f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                          f"\r\n\r\n".encode() + content + b"\r\n")
        chunks.append(f"--{boundary}--\r\n".encode())
        return self.request(method, path, body=b"".join(chunks),
                            content_type=f"multipart/form-data; boundary={boundary}")

    # --- records ----------------------------------------------------------------------------

    @staticmethod
    def path(kind: str, key: Key) -> str:
        """The API path of a record: ``("dataset", 3)``, ``("model", "credit-risk")``,
        ``("version", ("credit-risk", 2))``, or any kind with the record the API returned."""
        if isinstance(key, Mapping):
            key = (key["model"], key["number"]) if kind == "version" else \
                key["name"] if kind == "model" else key["id"]
        if kind == "version":
            if not isinstance(key, tuple):
                raise ValueError("a version's key is (model name, version number)")
            return f"/api/v1/models/{quote(str(key[0]))}/versions/{int(key[1])}"
        if kind == "model":
            return f"/api/v1/models/{quote(str(key))}"
        if kind in ("agreement", "dataset", "dpia"):
            return f"/api/v1/{kind}s/{int(key)}"  # type: ignore[arg-type]
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")

    def register_agreement(self, **fields: Any) -> dict[str, Any]:
        """A data sharing agreement (the fields of ``AgreementIn``); returns the record.

        ``stages`` maps each of the ``purposes`` to what the agreement covers it for, e.g.
        ``{"early_help_triage": ["development", "use", "fairness_audit"]}``."""
        return self.post("/api/v1/agreements", fields)

    def register_dataset(self, name: str, *, frame: pd.DataFrame | None = None,
                         columns: list[dict[str, Any]] | None = None,
                         protected: Iterable[str] = (),
                         descriptions: Mapping[str, str] | None = None,
                         agreements: Iterable[int] = (), **fields: Any) -> dict[str, Any]:
        """A dataset; with ``frame`` its column schema is inferred (unless ``columns`` is given,
        see :func:`infer_columns`) and its rows are uploaded as CSV. Returns the record."""
        if columns is None:
            if frame is None:
                raise ValueError("give columns, or a frame to infer them from")
            columns = infer_columns(frame, protected=protected, descriptions=descriptions)
        record = self.post("/api/v1/datasets", {**fields, "name": name, "columns": columns,
                                                "agreement_ids": list(agreements)})
        if frame is not None:
            record = self.upload_data(record["id"], frame)
        return record

    def upload_data(self, dataset_id: int, data: pd.DataFrame | bytes,
                    filename: str = "data.csv") -> dict[str, Any]:
        """Upload a dataset's rows: a data frame (sent as CSV) or a CSV / Parquet file's bytes."""
        content = data if isinstance(data, bytes) else data.to_csv(index=False).encode()
        return self._multipart("PUT", f"/api/v1/datasets/{int(dataset_id)}/data",
                               {"file": (filename, content)})

    def register_dpia(self, **fields: Any) -> dict[str, Any]:
        """A DPIA (the fields of ``DpiaIn``); returns the record."""
        return self.post("/api/v1/dpias", fields)

    def register_model(self, name: str, **fields: Any) -> dict[str, Any]:
        """A predictive model (the fields of ``ModelIn``); returns the record."""
        return self.post("/api/v1/models", {**fields, "name": name})

    def register_version(self, model_name: str, pipeline: Any, *, training: Key | Iterable[Key],
                         evaluation: Key | Iterable[Key], background: Key,
                         background_rows: int | None = None, background_seed: int | None = None,
                         **metadata: Any) -> dict[str, Any]:
        """Save the fitted pipeline with skops and upload it as a new version of the model.

        ``training`` and ``evaluation`` are dataset ids or records: evaluation data is not
        training data. ``background`` is the dataset (one of those) the explanation background
        is drawn from, ``background_rows`` rows with ``background_seed`` (the server's defaults
        if not given, and recorded either way). ``metadata`` holds the rest of ``VersionIn``
        (label_column, positive_label, threshold, stage, summary, ...). Gatehouse refuses
        anything but a safe skops file, then loads and explains the stored artefact; the
        version's ``self_check`` says how it went.
        """
        import skops.io as sio

        chosen = {"dataset_id": _ids(background)[0], "rows": background_rows,
                  "seed": background_seed}
        body = {**metadata, "training_dataset_ids": _ids(training),
                "evaluation_dataset_ids": _ids(evaluation),
                "background": {k: v for k, v in chosen.items() if v is not None}}
        return self._multipart(
            "POST", f"/api/v1/models/{quote(model_name)}/versions",
            {"artefact": ("model.skops", sio.dumps(pipeline))},
            {"metadata": json.dumps(body, default=_default)},
        )

    def get_record(self, kind: str, key: Key) -> dict[str, Any]:
        return self.get(self.path(kind, key))

    def submit(self, kind: str, key: Key) -> dict[str, Any]:
        """Submit a record for approval; returns the record."""
        return self.post(f"{self.path(kind, key)}/submit")

    def gate(self, kind: str, key: Key) -> dict[str, Any]:
        """``{"ready", "requirements": [{"id", "met", "detail", "remedy"}, ...]}``."""
        return self.get(f"{self.path(kind, key)}/gate")

    def decide(self, kind: str, key: Key, decision: str, rationale: str,
               **extra: Any) -> dict[str, Any]:
        """Approve, reject, request changes, suspend, reinstate or retire (officers only)."""
        return self.post(f"{self.path(kind, key)}/decisions",
                         {"decision": decision, "rationale": rationale, **extra})

    # --- analysis ---------------------------------------------------------------------------

    def wait_for_job(self, job_id: str, *, timeout: float = 900.0, poll: float = 0.5
                     ) -> dict[str, Any]:
        """Poll a background job until it succeeds (returned) or fails (GatehouseError)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"/api/v1/jobs/{quote(job_id)}")
            if job["state"] == "succeeded":
                return job
            if job["state"] == "failed":
                raise GatehouseError(500, "job_failed", job.get("error") or "the job failed",
                                     {"job": job})
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job['state']} after {timeout:g} s")
            time.sleep(poll)

    def run_bias_audit(self, model: str, version: int, *, dataset: Key,
                       sensitive_features: list[str] | None = None, wait: bool = True,
                       timeout: float = 900.0, **options: Any) -> dict[str, Any]:
        """Audit a version's fairness on a dataset (fairlearn); waits for the audit and returns
        it (or, with ``wait=False``, returns the job). ``options``: label_column,
        positive_label, threshold, extra_groupings."""
        job = self.post(f"{self.path('version', (model, version))}/bias-audits", {
            **options, "dataset_id": _ids(dataset)[0],
            "sensitive_features": sensitive_features})
        if not wait:
            return job
        done = self.wait_for_job(job["id"], timeout=timeout)
        return self.get(f"/api/v1/bias-audits/{done['result_id']}")

    def configure_drift_monitor(self, model: str, version: int, **fields: Any) -> dict[str, Any]:
        """Watch a version's inputs for drift (fields of the API's ``MonitorIn``: dataset_id,
        columns, action "alert" or "suspend", every_receipts, daily); policy fills the rest."""
        return self.post(f"{self.path('version', (model, version))}/drift-monitor", fields)

    # --- serving ----------------------------------------------------------------------------

    def score(self, model: str, purpose: str, features: Mapping[str, Any] | None = None, *,
              instances: list[Mapping[str, Any]] | None = None,
              version: int | None = None) -> dict[str, Any]:
        """Score one case (``features``) or a batch (``instances``) with explanations; each
        result carries its receipt id. Needs an API client's token."""
        if (features is None) == (instances is None):
            raise ValueError("give features (one case) or instances (a batch)")
        body: dict[str, Any] = {"purpose": purpose}
        if features is not None:
            body["features"] = dict(features)
        else:
            body["instances"] = [dict(i) for i in instances or []]
        if version is not None:
            body["version"] = version
        return self.post(f"/api/v1/models/{quote(model)}/score", body)

    def record_outcome(self, receipt_id: str, outcome: str, *, overrode: bool,
                       reason: str | None = None) -> dict[str, Any]:
        """What the caseworker finally decided on a scored case, and whether it overrode."""
        return self.post(f"/api/v1/receipts/{quote(receipt_id)}/outcome",
                         {"outcome": outcome, "overrode": overrode, "reason": reason})


def _ids(keys: Key | Iterable[Key]) -> list[int]:
    if isinstance(keys, int | str | Mapping):
        keys = [keys]
    out = []
    for key in keys:  # type: ignore[union-attr]
        out.append(int(key["id"]) if isinstance(key, Mapping) else int(key))  # type: ignore[arg-type]
    return out
