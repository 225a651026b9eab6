"""The evidence shown on a model's pages: bias audits, drift checks, scoring and overrides.

Every reader here is defensive: audit results and drift checks are JSON written by the analysis
layer, and a page must still render (saying what is missing) if a field is absent or odd.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..governance import evidence, gaps, monitor_health
from ..governance.gaps import Gap
from ..governance.monitor_health import Health
from ..governance.policy import Policy
from ..records import BiasAudit, Dataset, DriftCheck, DriftMonitor, ModelVersion, ScoreReceipt

log = logging.getLogger("gatehouse.web")

TABLE_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision",
                 "accuracy")
METRIC_NAMES = {
    "count": "Rows",
    "selection_rate": "Selection rate",
    "true_positive_rate": "True positive rate",
    "false_positive_rate": "False positive rate",
    "precision": "Precision",
    "accuracy": "Accuracy",
    "demographic_parity": "Demographic parity",
    "equalized_odds": "Equalised odds",
}
CHART_METRICS = ("selection_rate", "true_positive_rate")


# --- scoring ----------------------------------------------------------------------------------

@dataclass
class Scoring:
    total: int = 0
    last_30_days: int = 0
    with_outcome: int = 0
    overridden: int = 0

    @property
    def override_rate(self) -> float | None:
        """Share of receipts with a recorded outcome where the caseworker overrode the score."""
        return self.overridden / self.with_outcome if self.with_outcome else None


def scoring(session: Session, version_ids: list[int], now: datetime) -> Scoring:
    if not version_ids:
        return Scoring()
    where = ScoreReceipt.model_version_id.in_(version_ids)
    answered = ScoreReceipt.overrode.is_not(None) | ScoreReceipt.outcome.is_not(None)
    total = session.scalar(select(func.count()).where(where)) or 0
    recent = session.scalar(select(func.count()).where(
        where, ScoreReceipt.created_at >= now - timedelta(days=30))) or 0
    with_outcome = session.scalar(select(func.count()).where(where, answered)) or 0
    overridden = session.scalar(select(func.count()).where(
        where, ScoreReceipt.overrode.is_(True))) or 0
    return Scoring(int(total), int(recent), int(with_outcome), int(overridden))


# --- bias audits ------------------------------------------------------------------------------

@dataclass
class Grouping:
    name: str
    kind: str
    verdict: str | None
    groups: list[dict[str, Any]]
    overall: dict[str, Any]
    disparities: list[dict[str, Any]]
    limits: list[dict[str, Any]]
    reasons: list[str]
    charts: list[Markup] = field(default_factory=list)


@dataclass
class AuditView:
    audit: BiasAudit
    dataset: Dataset | None
    verdict: str
    reasons: list[str]
    n_rows: int | None
    min_group_size: int | None
    groupings: list[Grouping]
    proxies: list[dict[str, Any]]
    merged: list[dict[str, Any]] = field(default_factory=list)
    not_assessed: list[str] = field(default_factory=list)
    waived: list[str] = field(default_factory=list)  # groups not assessed an officer waived
    problem: str = ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _float(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _chart(grouping: dict[str, Any], metric: str) -> Markup | None:
    try:
        from ..analysis.fairness import metric_chart_svg
    except ImportError:  # pragma: no cover - the module ships with the analysis layer
        return None
    try:
        return Markup(metric_chart_svg(grouping, metric))  # noqa: S704 - built with escaping
    except Exception:  # a chart is a convenience: the table carries the same figures
        log.warning("no %s chart for grouping %r", metric, grouping.get("name"), exc_info=True)
        return None


def audit_view(session: Session, audit: BiasAudit) -> AuditView:
    results = _dict(audit.results)
    groupings: list[Grouping] = []
    raw_groupings = results.get("groupings")
    items = (raw_groupings.items() if isinstance(raw_groupings, dict)
             else ((str(_dict(g).get("name", i)), g) for i, g in enumerate(_list(raw_groupings))))
    for name, raw in items:
        g = _dict(raw)
        groups = []
        for row in _list(g.get("groups")):
            row = _dict(row)
            groups.append({
                "group": str(row.get("group", "")),
                "count": row.get("count"),
                "sufficient": row.get("sufficient", True),
                **{m: _float(row.get(m)) for m in TABLE_METRICS},
            })
        disparities = []
        for metric, entry in _dict(g.get("disparities")).items():
            entry = _dict(entry)
            disparities.append({
                "metric": metric, "name": METRIC_NAMES.get(metric, metric),
                "difference": _float(entry.get("difference")),
                "ratio": _float(entry.get("ratio")),
                "lowest": _dict(entry.get("lowest")).get("group"),
                "highest": _dict(entry.get("highest")).get("group"),
            })
        limits = [{"metric": str(_dict(lim).get("metric", "")),
                   "value": _float(_dict(lim).get("value")),
                   "bound": _dict(lim).get("bound") or _bound(_dict(lim)),
                   "status": _dict(lim).get("status")} for lim in _list(g.get("limits"))]
        grouping = Grouping(
            name=str(g.get("name", name)), kind=str(g.get("kind", "")),
            verdict=g.get("verdict"), groups=groups, overall=_dict(g.get("overall")),
            disparities=disparities, limits=limits,
            reasons=[str(r) for r in _list(g.get("reasons"))],
        )
        if groups and "overall" in g:
            grouping.charts = [c for m in CHART_METRICS if (c := _chart(g, m)) is not None]
        groupings.append(grouping)
    problem = "" if groupings else "The audit's results hold no per-group figures."
    version = session.get(ModelVersion, audit.model_version_id)
    not_assessed = gaps.not_assessed(audit)
    waived = (sorted(evidence.waived(session, version, "small_groups", evidence.ref(audit))
                     & set(not_assessed)) if version is not None else [])
    return AuditView(
        merged=[_dict(m) for m in _list(results.get("merged"))], not_assessed=not_assessed,
        waived=waived,
        audit=audit, dataset=session.get(Dataset, audit.dataset_id),
        verdict=str(results.get("verdict") or audit.verdict),
        reasons=[str(r) for r in (_list(results.get("reasons")) or audit.reasons or [])],
        n_rows=results.get("n_rows"), min_group_size=results.get("min_group_size"),
        groupings=groupings, proxies=[_dict(p) for p in _list(results.get("proxies"))],
        problem=problem,
    )


def _bound(limit: dict[str, Any]) -> str:
    lo, hi = _float(limit.get("min")), _float(limit.get("max"))
    if lo is not None and hi is not None:
        return f"between {lo:g} and {hi:g}"
    if lo is not None:
        return f"at least {lo:g}"
    return f"at most {hi:g}" if hi is not None else ""


def audits_of(session: Session, version: ModelVersion) -> list[BiasAudit]:
    return list(session.scalars(select(BiasAudit).where(
        BiasAudit.model_version_id == version.id).order_by(BiasAudit.id.desc())).all())


# --- drift ------------------------------------------------------------------------------------

@dataclass
class DriftView:
    monitor: DriftMonitor | None
    checks: list[DriftCheck]
    latest_report: DriftCheck | None
    chart: Markup | None
    health: Health | None = None  # of the monitor in force
    alerts: list[Gap] = field(default_factory=list)  # drift alerts not yet acknowledged


def drift_view(session: Session, version: ModelVersion, report_exists: Any, policy: Policy,
               now: datetime) -> DriftView:
    monitors = list(session.scalars(select(DriftMonitor).where(
        DriftMonitor.model_version_id == version.id).order_by(DriftMonitor.id.desc())).all())
    monitor = next((m for m in monitors if m.status == "in_force"),
                   monitors[0] if monitors else None)
    if not monitors:
        return DriftView(None, [], None, None)
    checks = list(session.scalars(select(DriftCheck).where(
        DriftCheck.monitor_id.in_([m.id for m in monitors])).order_by(DriftCheck.created_at,
                                                                       DriftCheck.id)).all())
    latest_report = next((c for c in reversed(checks) if report_exists(c.report_path)), None)
    ran = [c for c in checks if c.status == "ok"]  # a check that could not run has no share
    chart = drift_chart(ran, monitor.drift_share if monitor else None) if ran else None
    health = (monitor_health.health(session, monitor, policy, now)
              if monitor is not None and monitor.status == "in_force" else None)
    return DriftView(monitor, checks, latest_report, chart, health,
                     gaps.open_alerts(session, version, policy))


def drift_chart(checks: list[DriftCheck], limit: float | None) -> Markup:
    """Share of monitored columns drifted at each check, oldest first, with the breach line."""
    shown = checks[-24:]
    width, top, bottom, left = 640, 30, 40, 44
    plot_h = 140
    height = top + plot_h + bottom
    step = (width - left - 10) / max(len(shown), 1)
    bar_w = max(4.0, min(40.0, step * 0.6))
    readings = "; ".join(
        f"{c.created_at:%d %b %Y}: {c.share_drifted * 100:.0f}% of columns drifted"
        f"{' (breach)' if c.drifted else ''}" for c in shown)
    desc = (f"Bar chart of the share of monitored columns that drifted at each of the last "
            f"{len(shown)} checks. {readings}."
            + (f" The breach line is at {limit * 100:.0f}%." if limit is not None else ""))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="drift-title drift-desc" '
        'font-family="Arial, Helvetica, sans-serif" font-size="13">',
        '<title id="drift-title">Share of columns drifted at each check</title>',
        f'<desc id="drift-desc">{escape(desc)}</desc>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#0b0c0c"/>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#0b0c0c"/>',
    ]
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="#0b0c0c">{frac * 100:.0f}%</text>')
    for i, c in enumerate(shown):
        share = max(0.0, min(1.0, c.share_drifted))
        h = plot_h * share
        x = left + step * i + (step - bar_w) / 2
        fill = "#d4351c" if c.drifted else "#1d70b8"
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                     f'height="{h:.1f}" fill="{fill}"/>')
        if len(shown) <= 12:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" '
                         f'text-anchor="middle" fill="#0b0c0c">{c.created_at:%d %b}</text>')
    if limit is not None:
        y = top + plot_h * (1 - max(0.0, min(1.0, limit)))
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" '
                     'stroke="#0b0c0c" stroke-width="2" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{width - 12}" y="{y - 6:.1f}" text-anchor="end" '
                     f'fill="#0b0c0c">Breach at {limit * 100:.0f}%</text>')
    parts.append(f'<text x="{left}" y="{height - 6}" fill="#505a5f">Red bars: the check found '
                 'drift (a breach). Blue bars: no breach.</text>')
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704 - every text above is escaped or numeric
