"""Small, accessible, server-side SVG bar charts of one fairness metric by group.

Hand-written SVG (no matplotlib): one horizontal bar per group with its value and group size
written beside it, a dashed line at the all-rows value, a ``<title>`` and a ``<desc>`` that
reads out every figure, ``role="img"`` and ``aria-labelledby``. Groups below the minimum group
size are drawn grey and say "too few rows" in text, so colour is never the only cue.
"""

from __future__ import annotations

import hashlib
from html import escape
from typing import Any

_METRIC_NAMES = {
    "count": "Number of rows",
    "selection_rate": "Selection rate",
    "true_positive_rate": "True positive rate",
    "false_positive_rate": "False positive rate",
    "precision": "Precision",
    "accuracy": "Accuracy",
}
_WIDTH = 640
_ROW = 26
_TOP = 34
_VALUE_SPACE = 190
_BAR = "#1d70b8"
_SMALL_BAR = "#b1b4b6"


def _e(text: object) -> str:
    """Escape text for XML content and attribute values."""
    return escape(str(text), quote=True)


def _value_text(metric: str, value: float | None) -> str:
    if value is None:
        return "undefined"
    return f"{int(value):,}" if metric == "count" else f"{value:.3f}"


def metric_chart_svg(grouping_result: dict[str, Any], metric: str) -> str:
    """SVG bar chart of ``metric`` for each group in one grouping of ``run_audit``'s result.

    Bars are scaled to 0–1 for rates and to the largest group for ``count``.
    """
    if metric not in _METRIC_NAMES:
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(_METRIC_NAMES)}")
    name = grouping_result["name"]
    groups = grouping_result["groups"]
    overall = grouping_result["overall"][metric]
    metric_name = _METRIC_NAMES[metric]
    values = [g[metric] for g in groups]
    scale = max([v for v in values if v is not None] + [1.0]) if metric == "count" else 1.0

    longest = max([len(g["group"]) for g in groups] + [4])
    label_width = min(240, 7 * longest + 12)
    bar_x = label_width + 8
    bar_span = _WIDTH - bar_x - _VALUE_SPACE
    height = _TOP + _ROW * len(groups) + 34
    chart_id = "fc-" + hashlib.sha1(f"{name}|{metric}".encode()).hexdigest()[:10]

    title = f"{metric_name} by {name}"
    readings = []
    for group in groups:
        note = "" if group["sufficient"] else ", too few rows to compare"
        readings.append(
            f"{group['group']}: {_value_text(metric, group[metric])} (n={group['count']:,}{note})"
        )
    desc = (
        f"Bar chart of {metric_name.lower()} for each group of {name}. "
        + "; ".join(readings)
        + f". All rows: {_value_text(metric, overall)}."
    )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'font-family="Arial, Helvetica, sans-serif" font-size="13">',
        f'<title id="{chart_id}-title">{_e(title)}</title>',
        f'<desc id="{chart_id}-desc">{_e(desc)}</desc>',
        f'<text x="0" y="18" font-weight="bold" fill="#0b0c0c">{_e(title)}</text>',
    ]
    for i, group in enumerate(groups):
        y = _TOP + i * _ROW
        value = group[metric]
        width = 0.0 if value is None else max(0.0, min(1.0, value / scale)) * bar_span
        fill = _BAR if group["sufficient"] else _SMALL_BAR
        note = "" if group["sufficient"] else ", too few rows"
        text = f"{_value_text(metric, value)} (n={group['count']:,}{note})"
        parts.append(
            f'<text x="{label_width}" y="{y + 16}" text-anchor="end" fill="#0b0c0c">'
            f"{_e(group['group'])}</text>"
        )
        parts.append(
            f'<rect x="{bar_x}" y="{y + 4}" width="{width:.1f}" height="{_ROW - 8}" fill="{fill}"/>'
        )
        parts.append(
            f'<text x="{bar_x + width + 6:.1f}" y="{y + 16}" fill="#0b0c0c">{_e(text)}</text>'
        )
    axis_bottom = _TOP + _ROW * len(groups)
    parts.append(
        f'<line x1="{bar_x}" y1="{_TOP}" x2="{bar_x}" y2="{axis_bottom}" stroke="#0b0c0c"/>'
    )
    if overall is not None:
        x = bar_x + max(0.0, min(1.0, overall / scale)) * bar_span
        parts.append(
            f'<line x1="{x:.1f}" y1="{_TOP - 2}" x2="{x:.1f}" y2="{axis_bottom + 2}" '
            'stroke="#d4351c" stroke-width="2" stroke-dasharray="4 3"/>'
        )
    parts.append(
        f'<text x="{bar_x}" y="{axis_bottom + 22}" fill="#505a5f">'
        f"Dashed line: all rows, {_e(_value_text(metric, overall))}</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)
