"""Rate limits (Flask-Limiter): sign-ins per address, refused score calls per client.

Counts are kept in memory by default, per process; with several workers or hosts,
GATEHOUSE_RATELIMIT_STORAGE names a shared store (redis://…).
"""

from __future__ import annotations

import math
import time

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["RATELIMIT_STORAGE"])
    parse(app.config["SCORE_REFUSAL_LIMIT"])  # a limit written wrongly stops the start
    limiter.init_app(app)


def hit(limit: str, key: str) -> int | None:
    """Count one event against ``limit`` (e.g. "30 per minute") for ``key``: None while within
    it, else the whole seconds until the window lets another through."""
    item = parse(limit)
    if limiter.limiter.hit(item, key):
        return None
    reset_time = limiter.limiter.get_window_stats(item, key).reset_time
    return max(1, math.ceil(reset_time - time.time()))
