"""Gunicorn's configuration for serving Gatehouse in production.

    gatehouse serve                          # runs: gunicorn -c gunicorn.conf.py wsgi:app
    GATEHOUSE_BIND=0.0.0.0:8000 GATEHOUSE_WORKERS=4 gatehouse serve

Each setting below reads a GATEHOUSE_* environment variable first; gunicorn's own flags, given
after, override both. `gatehouse run` (Flask's server) is for development only.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

# One numerical thread per worker: the workers already use every core, and a thread pool that
# OpenMP or OpenBLAS started in the master (preload) does not survive the fork.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


wsgi_app = "wsgi:app"
bind = os.environ.get("GATEHOUSE_BIND", "127.0.0.1:8000")
# Scoring is CPU work under the GIL: one process per core, and a second thread in each to
# overlap one request's database round trips with another's computing.
worker_class = "gthread"
workers = _int("GATEHOUSE_WORKERS", multiprocessing.cpu_count())
threads = _int("GATEHOUSE_THREADS", 2)
# A gthread worker accepts every connection while it holds fewer than this, busy or not: at
# gunicorn's default (1,000) the first worker takes all the keep-alive connections of a pool of
# clients and the others idle. A few per worker spreads them; a connection beyond every
# worker's share waits in the listen queue until one closes, so keep-alive is short.
worker_connections = _int("GATEHOUSE_WORKER_CONNECTIONS", 2 * threads)
keepalive = _int("GATEHOUSE_KEEPALIVE", 5)
backlog = _int("GATEHOUSE_BACKLOG", 2048)
# A worker silent for this long (its main loop, not a request: gthread keeps beating while
# threads work) is replaced; it covers a worker's warm pass at start. A request itself is
# bounded by the client's timeout.
timeout = _int("GATEHOUSE_TIMEOUT", 60)
graceful_timeout = _int("GATEHOUSE_GRACEFUL_TIMEOUT", 30)
# Load the application, and warm its models, once in the master: every worker is forked with
# them in memory (shared, copy-on-write), a replacement for a killed worker too.
preload_app = os.environ.get("GATEHOUSE_PRELOAD", "1") != "0"
limit_request_line = 8190
# gunicorn's control socket has one default path per user: two servers would share it.
control_socket_disable = True
errorlog = "-"
loglevel = os.environ.get("GATEHOUSE_LOG_LEVEL", "info")


def _services(server: Any) -> Any:
    return server.app.wsgi().extensions["gatehouse"]


def on_starting(server: Any) -> None:
    """Before binding (so no caller waits on a cold master): warm the preloaded application."""
    if server.cfg.preload_app:
        from registry.serving import warm

        warm.start(_services(server), watch=False)


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker, before it accepts: its own database connections (the master's pooled
    ones stay the master's), a pass loading what was approved since the master's, and a thread
    that keeps it warm."""
    from registry.serving import warm

    services = _services(server)
    services.engine.dispose(close=False)
    warm.start(services)
