"""Bias audits: per-group metrics and disparities judged against the policy's limits, proxy
detection, and charts of the results.

Only the names below are for other layers; the modules behind them are private.
"""

from ._audit import run_audit
from ._charts import metric_chart_svg
from ._proxies import find_proxies
from ._rules import FairnessRules, MetricLimit

__all__ = ["FairnessRules", "MetricLimit", "find_proxies", "metric_chart_svg", "run_audit"]
