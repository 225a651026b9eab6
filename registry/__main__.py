"""The `gatehouse` console script, and `python -m registry`: the garbage collector is off before
Flask, click and the commands load, not only once `registry.app` has (see `registry.app.main`:
what loading makes lives as long as the process, so passes over it are wasted).

A command that is done and left no thread running ends without the interpreter's teardown:
the exit handlers run (logging flushes its handlers) and the standard streams are flushed, but
the hundreds of thousands of objects loaded are not freed one by one, which took longer than
some commands' own work. Its database work is committed by then; a thread still running (a
server, a delivery) gets the usual exit, which waits for it."""

import atexit
import gc
import os
import sys
import threading


def main() -> None:
    gc.disable()
    from .app import main as gatehouse  # loads Flask and the commands: after the line above

    try:
        gatehouse()
    except SystemExit as done:
        if threading.active_count() > 1:
            raise
        status = _status(done.code)
    else:
        status = 0
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _status(code: object) -> int:
    """The exit status `SystemExit(code)` gives: None is 0, a number itself, anything else is
    printed to stderr and gives 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    main()
