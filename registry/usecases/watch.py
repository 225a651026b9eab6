"""Who watches: each person's inbox, the watch rules over how models are used and their alerts,
and downloads of a dataset's data (each on the ledger)."""

from __future__ import annotations

from ..governance import downloads, inbox, watch
from ..governance.permissions import require
from ..records import Dataset, WatchAlert
from .records import find, find_version
from .unit import Unit


def my_inbox(unit: Unit) -> list[inbox.Item]:
    """What waits for the signed-in person, by the roles they hold in each organisation."""
    require(unit.actor, "read")
    return inbox.inbox(unit.session, unit.actor, unit.policy, unit.now)


def run_watch(unit: Unit) -> list[str]:
    """Judge the policy's watch rules on every version in use (`gatehouse watch`, the sweep)."""
    require(unit.actor, "sweep")
    with unit:
        return watch.run(unit.session, unit.policy, unit.now)


def alerts(unit: Unit, name: str, number: int) -> list[WatchAlert]:
    """The version's watch alerts, newest first."""
    return watch.alerts_of(unit.session, find_version(unit, name, number))


def acknowledge(unit: Unit, name: str, number: int, alert_id: int, rationale: str) -> WatchAlert:
    """An officer acknowledges a watch alert, saying what was found and done."""
    version = find_version(unit, name, number)
    with unit:
        return watch.acknowledge(unit.session, unit.actor, version, alert_id, rationale,
                                 unit.now)


def download_data(unit: Unit, dataset_id: int) -> tuple[str, bytes]:
    """A dataset's uploaded data, the download chained in the ledger first."""
    dataset = find(unit, "dataset", dataset_id)
    assert isinstance(dataset, Dataset)
    with unit:
        return downloads.download_data(unit.session, unit.actor, dataset, unit.store,
                                       unit.policy, unit.now)
