"""The policy's `[watch]` table: rules that watch how served models are used.

Each rule is a sub-table (`[watch.override_rate]`, …) with its own figures and an ``action``,
"alert" or "suspend"; a rule left out of the policy is not watched. ``[watch] due_within_days``
is how far ahead the inbox lists what expires or falls due. Parsed here, without the rest of the
policy, so that :mod:`.policy` only hands the table over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ACTIONS = ("alert", "suspend")
RULES = ("override_rate", "volume", "hours", "repeated_inputs", "unreported_outcomes")
# Keys of the [watch] table itself; each rule's keys are in _KEYS.
TOP_KEYS = frozenset({"due_within_days", "window_hours", *RULES})


@dataclass(frozen=True)
class OverrideRate:
    """An advisory model whose caseworkers (almost) never override it: de facto automated."""

    floor: float  # alert when the share of outcomes that overrode the score is below this
    last_outcomes: int  # over the most recent this many outcomes reported
    action: str


@dataclass(frozen=True)
class Volume:
    """Scoring far above its usual level: the window's count against the usual daily count."""

    factor: float  # alert above this many times the usual level
    baseline_days: int  # the usual level: the daily mean over this many days before the window
    min_receipts: int  # below this many receipts in the window, nothing is judged
    action: str


@dataclass(frozen=True)
class Hours:
    """Scoring outside the hours the service works (a tool running unattended, say)."""

    start: time  # cases may be scored from this time …
    end: time  # … until this time, each day, on the clocks of …
    timezone: str  # … this place (an IANA name: "Europe/London" keeps summer time)
    min_receipts: int  # alert at this many receipts outside the hours in the window
    action: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class RepeatedInputs:
    """The same case scored again and again: fishing for a score, or a tool looping."""

    max_repeats: int  # alert when one set of inputs is scored more often than this in the window
    action: str


@dataclass(frozen=True)
class UnreportedOutcomes:
    """Scores whose outcome is never reported: no one can see whether advice was followed."""

    max_share: float  # alert when more than this share of receipts has no outcome …
    after_days: int  # … this many days after scoring (receipts younger are not judged)
    over_days: int  # judged over the receipts scored in this many days before that
    min_receipts: int
    action: str


@dataclass(frozen=True)
class WatchRules:
    due_within_days: int = 30
    window_hours: int = 24  # volume, hours and repeated inputs look back this far
    override_rate: OverrideRate | None = None
    volume: Volume | None = None
    hours: Hours | None = None
    repeated_inputs: RepeatedInputs | None = None
    unreported_outcomes: UnreportedOutcomes | None = None

    def rules(self) -> list[tuple[str, Any]]:
        """The rules the policy sets, by name."""
        return [(name, getattr(self, name)) for name in RULES if getattr(self, name) is not None]


_KEYS: dict[str, frozenset[str]] = {
    "override_rate": frozenset({"floor", "last_outcomes", "action"}),
    "volume": frozenset({"factor", "baseline_days", "min_receipts", "action"}),
    "hours": frozenset({"start", "end", "timezone", "min_receipts", "action"}),
    "repeated_inputs": frozenset({"max_repeats", "action"}),
    "unreported_outcomes": frozenset({"max_share", "after_days", "over_days", "min_receipts",
                                      "action"}),
}
Fail = Callable[[str, str], Exception]


class _Table:
    """One rule's sub-table, each key read with its dotted name in every error."""

    def __init__(self, name: str, data: Any, fail: Fail) -> None:
        self.name, self.fail = name, fail
        if not isinstance(data, dict):
            raise fail(f"watch.{name}", f"must be a table, not {type(data).__name__}")
        unknown = sorted(set(data) - _KEYS[name])
        if unknown:
            raise fail(f"watch.{name}.{unknown[0]}",
                       f"unknown key; [watch.{name}] takes {sorted(_KEYS[name])}")
        self.data = data

    def value(self, key: str) -> Any:
        if key not in self.data:
            raise self.fail(f"watch.{self.name}.{key}", "is missing")
        return self.data[key]

    def whole(self, key: str, least: int = 1) -> int:
        v = self.value(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < least:
            raise self.fail(f"watch.{self.name}.{key}",
                            f"must be a whole number of at least {least}, not {v!r}")
        return v

    def number(self, key: str, low: float, high: float | None = None) -> float:
        v = self.value(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < low or (
                high is not None and v > high):
            span = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            raise self.fail(f"watch.{self.name}.{key}", f"must be a number {span}, not {v!r}")
        return float(v)

    def clock(self, key: str) -> time:
        v = self.value(key)
        if isinstance(v, time):  # TOML's own local time, 07:30
            return v
        if isinstance(v, str):
            try:
                return time.fromisoformat(v)
            except ValueError:
                pass
        raise self.fail(f"watch.{self.name}.{key}",
                        f'must be a time of day such as "07:30", not {v!r}')

    def action(self) -> str:
        v = self.value("action")
        if v not in ACTIONS:
            raise self.fail(f"watch.{self.name}.action", f"must be alert or suspend, not {v!r}")
        return str(v)


def parse_watch(data: Any, fail: Fail) -> WatchRules:
    """The `[watch]` table (absent: no rules, the inbox's default window); ``fail(key, problem)``
    makes the error that names the policy file."""
    if data is None:
        return WatchRules()
    if not isinstance(data, dict):
        raise fail("watch", f"must be a table, not {type(data).__name__}")
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise fail(f"watch.{unknown[0]}", f"unknown key; [watch] takes {sorted(TOP_KEYS)}")
    top: dict[str, int] = {}
    for key, default in (("due_within_days", 30), ("window_hours", 24)):
        v = data.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise fail(f"watch.{key}", f"must be a whole number of at least 1, not {v!r}")
        top[key] = v
    rules: dict[str, Any] = {}
    if "override_rate" in data:
        t = _Table("override_rate", data["override_rate"], fail)
        rules["override_rate"] = OverrideRate(t.number("floor", 0, 1), t.whole("last_outcomes"),
                                              t.action())
    if "volume" in data:
        t = _Table("volume", data["volume"], fail)
        rules["volume"] = Volume(t.number("factor", 1), t.whole("baseline_days"),
                                 t.whole("min_receipts"), t.action())
    if "hours" in data:
        t = _Table("hours", data["hours"], fail)
        start, end = t.clock("start"), t.clock("end")
        if start >= end:
            raise fail("watch.hours", f"start ({start:%H:%M}) must come before end ({end:%H:%M})")
        zone = t.data.get("timezone", "UTC")
        try:
            ZoneInfo(zone if isinstance(zone, str) else "")
        except (ZoneInfoNotFoundError, ValueError):
            raise fail("watch.hours.timezone",
                       f'must be a time zone such as "Europe/London", not {zone!r}') from None
        rules["hours"] = Hours(start, end, zone, t.whole("min_receipts"), t.action())
    if "repeated_inputs" in data:
        t = _Table("repeated_inputs", data["repeated_inputs"], fail)
        rules["repeated_inputs"] = RepeatedInputs(t.whole("max_repeats"), t.action())
    if "unreported_outcomes" in data:
        t = _Table("unreported_outcomes", data["unreported_outcomes"], fail)
        rules["unreported_outcomes"] = UnreportedOutcomes(
            t.number("max_share", 0, 1), t.whole("after_days"), t.whole("over_days"),
            t.whole("min_receipts"), t.action())
    return WatchRules(**top, **rules)
