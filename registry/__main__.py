"""The `gatehouse` console script, and `python -m registry`: the garbage collector is off before
Flask, click and the commands load, not only once `registry.app` has (see `registry.app.main`:
what loading makes lives as long as the process, so passes over it are wasted)."""

import gc


def main() -> None:
    gc.disable()
    from .app import main as gatehouse  # loads Flask and the commands: after the line above

    gatehouse()


if __name__ == "__main__":
    main()
