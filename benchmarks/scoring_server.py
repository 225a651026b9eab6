"""The scoring benchmark's servers and load: gunicorn with the shipped configuration or bare,
keep-alive clients on threads, first-request latency after a start."""

from __future__ import annotations

import http.client
import itertools
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn on a free port: ``configured`` with gunicorn.conf.py (preload, warm start,
    gthread with connections spread across workers), else bare as the project ran it before
    (``gunicorn -w N --worker-class gthread --threads 1 wsgi:app``: each worker loads the model
    on its first score)."""

    def __init__(self, env: dict[str, str], workers: int, *, configured: bool,
                 threads: int = 1) -> None:
        self.port = free_port()
        self.configured = configured
        if configured:
            command = ["-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{self.port}",
                       "--log-level", "warning"]
            env = {**env, "GATEHOUSE_WORKERS": str(workers)}
        else:
            # an empty configuration: gunicorn reads ./gunicorn.conf.py by itself otherwise
            bare = Path(env["GATEHOUSE_DATA_DIR"]).parent / "bare.conf.py"
            bare.write_text("")
            command = ["-c", str(bare), "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                       "--worker-class", "gthread", "--threads", str(threads),
                       "--log-level", "warning", "--keep-alive", "30", "--timeout", "300",
                       "--no-control-socket", "wsgi:app"]
        self.started = time.perf_counter()
        self.process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), *command],
                                        cwd=ROOT, env={**os.environ, **env})
        # The bare server is waited for as before, until it lives: its readiness probe would
        # warm the worker that answers it.
        self.ready_after = self._wait("/v2/health/ready" if configured else "/v2/health/live")

    def _wait(self, path: str) -> float:
        """Seconds from start until ``path`` answers 200."""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("gunicorn did not become ready")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def cpu_seconds(master: int) -> float:
    """User + system CPU seconds of the gunicorn master and its workers (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        if pid == master or int(fields[1]) == master:  # fields[1] is the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def calibration_ms() -> float:
    """CPU time of a fixed pure-Python loop (best of 3): how fast the machine runs right now."""
    best = float("inf")
    for _ in range(3):
        start, total = time.process_time(), 0
        for i in range(300_000):
            total += i * i
        best = min(best, time.process_time() - start)
    return best * 1000


class Load:
    """Send pre-encoded POST requests from client threads over keep-alive connections."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.port, self.path = port, path
        self.headers = {"Content-Type": "application/json", **headers}

    def one(self, connection: http.client.HTTPConnection, body: bytes) -> float:
        start = time.perf_counter()
        connection.request("POST", self.path, body=body, headers=self.headers)
        response = connection.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {data[:300]!r}")
        return elapsed

    def first(self, body: bytes) -> float:
        """Seconds for one request on a new connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            return self.one(connection, body)
        finally:
            connection.close()

    def run(self, bodies: list[bytes], clients: int) -> tuple[np.ndarray, float]:
        """(latencies in ms, wall seconds) for sending every body once."""
        counter = itertools.count()
        latencies: list[list[float]] = [[] for _ in range(clients)]
        errors: list[BaseException] = []
        barrier = threading.Barrier(clients + 1)

        def client(k: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            barrier.wait()
            try:
                while (i := next(counter)) < len(bodies):
                    latencies[k].append(self.one(connection, bodies[i]))
            except BaseException as exc:  # reported after the run
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        if errors:
            raise errors[0]
        return np.array([x for per in latencies for x in per]) * 1000.0, wall


def after_kill(server: Server, load: Load, bodies: list[bytes], clients: int) -> float:
    """Requests/s in the seconds after one worker is killed with SIGKILL (the master forks a
    replacement): how much a replaced worker costs its callers."""
    os.kill(server.workers()[0], signal.SIGKILL)
    ms, wall = load.run(bodies, clients)
    return len(ms) / wall


def summary(ms: np.ndarray, wall: float) -> dict[str, float]:
    p50, p99 = np.percentile(ms, [50, 99])
    return {"p50": float(p50), "p99": float(p99), "rps": len(ms) / wall}


def line(label: str, figures: dict[str, float], base: dict[str, float] | None = None) -> str:
    text = (f"  {label:<34} p50 {figures['p50']:7.2f} ms  p99 {figures['p99']:7.2f} ms  "
            f"{figures['rps']:7.1f} req/s")
    if base:
        text += (f"   x{figures['p50'] / base['p50']:.2f} p50, x{figures['p99'] / base['p99']:.2f}"
                 f" p99, x{figures['rps'] / base['rps']:.2f} req/s")
    return text
