"""HTTP to one Gatehouse service: one keep-alive connection per object, thread-safe."""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from .errors import GatehouseError

Key = int | str | tuple[str, int] | Mapping[str, Any]
KINDS = ("agreement", "dataset", "dpia", "model", "version")
_RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def to_json(value: Any) -> Any:
    """Dates as ISO text, numpy scalars as Python numbers (``json.dumps``'s ``default``)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def given(**fields: Any) -> dict[str, Any]:
    """The fields given (not None): the server's defaults stand for the rest."""
    return {k: v for k, v in fields.items() if v is not None}


class Transport:
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

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def request(self, method: str, path: str, *, json_body: Any = None,
                body: bytes | None = None, content_type: str | None = None) -> Any:
        """Send one request to ``path`` (under the service URL); the decoded JSON answer."""
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if json_body is not None:
            body = json.dumps(json_body, default=to_json).encode()
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

    def multipart(self, method: str, path: str, files: Mapping[str, tuple[str, bytes]],
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


def ids(keys: Key | list[Key] | tuple[Key, ...]) -> list[int]:
    """Dataset ids from ids or the records the API returned."""
    if isinstance(keys, int | str | Mapping):
        keys = [keys]
    return [int(k["id"]) if isinstance(k, Mapping) else int(k) for k in keys]  # type: ignore[arg-type]
