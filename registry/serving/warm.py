"""Warm start: every servable approved version loaded, and its explainer built, before the first
caller asks.

A model's first load takes seconds (the analysis libraries, the artefact's verification, the
explainer's tables), so it is not left to a caller. The server configuration (`gunicorn.conf.py`)
warms the master once before it forks, so every worker, a replacement for a killed one too,
starts with the models in memory; each worker then makes a pass of its own (loading what was
approved since the master's) and keeps a thread that looks at the ledger's head every few
seconds, loading whatever became servable (an approval in any process, a reinstatement, a
waiver). A decision taken in this process wakes it at once. A pass also fills the verdict cache
for the head it saw, so the first score after a start computes nothing either.

`/v2/health/ready` answers ready only once a pass has completed; a server started without the
configuration makes its first pass on the first probe.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import exc, select
from sqlalchemy.orm import Session

from ..governance.errors import GovernanceError
from ..platform.db import read_first
from ..platform.services import Services
from ..records import ModelVersion, PredictiveModel
from . import loaded, verdicts

log = logging.getLogger("gatehouse.warm")

# How often a worker's thread looks at the ledger's head (one single-row read).
WATCH_SECONDS = 2.0
_EXTRA = "warmer"
_APPROVED = (select(PredictiveModel.organisation_id, PredictiveModel.name, ModelVersion.number)
             .join(PredictiveModel, PredictiveModel.id == ModelVersion.model_id)
             .where(ModelVersion.state == "approved")
             .order_by(ModelVersion.id))


class Warmer:
    """Keeps one application's servable versions loaded in this process."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.ready = False
        self._head: str | None = None  # the ledger's head at the last complete pass
        self._failed: set[tuple[int, str]] = set()  # refused once: not retried every pass
        self._pass = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def warm(self) -> int:
        """One pass, unless the ledger has not moved since the last: load every servable
        approved version not loaded yet. Returns how many were loaded."""
        with self._pass:
            session = self.services.sessions()  # unscoped: every organisation's models
            try:
                read_first(session)
                at = verdicts.head(session)
                if self.ready and at == self._head:
                    return 0
                before = loaded.loads
                for organisation_id, name, number in session.execute(_APPROVED).all():
                    for pinned in (None, number):  # as callers ask: the model, or the version
                        self._load(session, organisation_id, name, pinned, at)
                self._head, self.ready = at, True
                return loaded.loads - before
            finally:
                session.close()

    def _load(self, session: Session, organisation_id: int | None, name: str, number: int | None,
              at: str) -> None:
        services, now = self.services, self.services.clock.now()
        read_first(session)  # each read ends before a load, so no lock is held meanwhile
        try:
            verdict = verdicts.verdict(session, organisation_id, name, number, services.policy,
                                       now, at)
        except GovernanceError:  # gone since the list was read: the next pass sees it
            return
        key = (verdict.version_id, verdict.artefact_sha256)
        if not verdict.ok or loaded.has(verdict) or key in self._failed:
            return
        try:
            loaded.get(session, verdict, services.store, services.policy, now, release=True)
        except GovernanceError as refused:  # a score's answer says the same, as it always did
            self._failed.add(key)
            log.warning("model %r not warmed: %s", name, refused)

    def try_warm(self) -> None:
        """A pass whose failure (the database away or not migrated yet) leaves the process not
        ready, to be tried again, rather than stopping it."""
        try:
            count = self.warm()
        except exc.SQLAlchemyError as error:
            log.warning("not warm yet: %s", str(error).splitlines()[0])
            return
        if count:
            log.info("warmed %d model version(s)", count)

    def watch(self, interval: float = WATCH_SECONDS) -> None:
        """Keep warm from a thread of this process: a pass every ``interval`` seconds, and at
        once on `kick`."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.is_set():
                self._wake.wait(interval)
                self._wake.clear()
                if not self._stop.is_set():
                    try:
                        self.try_warm()
                    except Exception:  # a pass that failed must not end the watching
                        log.exception("warm pass failed")

        self._thread = threading.Thread(target=loop, name="gatehouse-warm", daemon=True)
        self._thread.start()

    @property
    def watching(self) -> bool:
        return self._thread is not None

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


def of(services: Services) -> Warmer:
    warmer = services.extras.get(_EXTRA)
    if warmer is None:
        warmer = services.extras[_EXTRA] = Warmer(services)
    return warmer  # type: ignore[no-any-return]


def start(services: Services, *, watch: bool = True,
          interval: float = WATCH_SECONDS) -> Warmer:
    """Warm now (this call returns once the pass is done) and, with ``watch``, keep warm."""
    warmer = of(services)
    warmer.try_warm()
    if watch:
        warmer.watch(interval)
    return warmer


def ready(services: Services) -> bool:
    """Whether this process is warm; a process nothing has warmed warms now."""
    warmer = services.extras.get(_EXTRA)
    if warmer is None or not warmer.ready:
        warmer = of(services)
        if not warmer.watching:  # nothing else is warming it
            warmer.try_warm()
    return warmer.ready  # type: ignore[no-any-return]


def kick(services: Services) -> None:
    """A decision was committed: let this process's watcher look at once."""
    warmer = services.extras.get(_EXTRA)
    if warmer is not None:
        warmer.kick()
