"""The application on a real local HTTP server, for clients that speak HTTP themselves."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port in a thread; yields "127.0.0.1:<port>"."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # polled every 50 ms, not 500: shutting down waits for the next poll
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="live-server",
                              daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
