"""Bias audits, drift monitors and checks, self-checks, and the jobs that run them."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ..governance import evidence, monitoring, outcomes
from ..governance.errors import Invalid, NotFound
from ..governance.permissions import require
from ..platform.services import db, now, services
from ..records import BiasAudit, DriftCheck, DriftMonitor, Job, ModelVersion
from ..usecases import evidence as evidence_cases
from ..usecases import records
from ..usecases.inputs import Count, Id, Label
from .auth import current_actor, unit
from .schemas import VersionOut
from .uploads import sent_raw, uploaded_file

blp = Blueprint("monitoring", __name__, url_prefix="/api/v1",
                description="Bias audits (fairlearn), drift monitors (evidently), outcome "
                            "monitoring of the served population, and the jobs that run them.")
VERSION = "/models/<name>/versions/<int:number>"


class AuditIn(Schema):
    dataset_id = Id(required=True, metadata={
        "description": "one of the version's evaluation datasets"})
    label_column = fields.String(load_default=None, allow_none=True)
    positive_label = Label(load_default=None, allow_none=True)
    threshold = fields.Float(load_default=None, allow_none=True, validate=validate.Range(0, 1))
    sensitive_features = fields.List(fields.String(), load_default=None, allow_none=True, metadata={
        "description": "attributes to audit: always every attribute the evaluation dataset "
                       "flags as protected (a list leaving one out is refused, 422); you may add "
                       "others. The intersections are the policy's (fairness.intersections)."})
    extra_groupings = fields.List(fields.String(), load_default=list)


class AuditOut(Schema):
    id = fields.Integer()
    model_version_id = fields.Integer()
    dataset_id = fields.Integer()
    label_column = fields.String()
    positive_label = fields.Raw(attribute="positive_label_typed", metadata={
        "description": "typed as the label column is: an integer label gives an integer"})
    threshold = fields.Float()
    sensitive_features = fields.List(fields.String())
    extra_groupings = fields.List(fields.String())
    verdict = fields.String()
    reasons = fields.List(fields.String())
    results = fields.Dict()
    model_sha256 = fields.String()
    data_hash = fields.String()
    policy_name = fields.String()
    policy_version = fields.String()
    status = fields.String(metadata={"description": "in_force | proposed | superseded | declined"})
    created_at = fields.DateTime()


class JobOut(Schema):
    id = fields.String()
    kind = fields.String()
    state = fields.String()
    result_kind = fields.String(allow_none=True)
    result_id = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    details = fields.Function(lambda j: (j.params or {}).get("error_details"), allow_none=True,
                              metadata={"description": "the failure's field-by-field details"})
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class MonitorIn(Schema):
    dataset_id = Id(load_default=None, allow_none=True)
    columns = fields.List(fields.String(), load_default=None, allow_none=True)
    action = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(["alert", "suspend"]))
    every_receipts = Count(1, load_default=None, allow_none=True)
    daily = fields.Boolean(load_default=False)


class MonitorOut(Schema):
    id = fields.Integer()
    model_version_id = fields.Integer()
    reference_hash = fields.String()
    reference_rows = fields.Integer()
    columns = fields.Dict()
    method = fields.String(allow_none=True)
    column_threshold = fields.Float(allow_none=True)
    drift_share = fields.Float()
    every_receipts = fields.Integer(allow_none=True)
    daily = fields.Boolean()
    action = fields.String()
    status = fields.String(metadata={"description": "in_force | proposed | superseded | declined"})
    in_breach = fields.Boolean()
    created_at = fields.DateTime()


class CheckOut(Schema):
    id = fields.Integer()
    monitor_id = fields.Integer()
    source = fields.String()
    rows = fields.Integer()
    columns = fields.List(fields.Dict())
    share_drifted = fields.Float()
    drifted = fields.Boolean()
    has_report = fields.Function(lambda c: bool(c.report_path))
    note = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "ok (it ran, whatever it found) | failed "
                                                    "(it could not run: see error)"})
    error = fields.String(allow_none=True, metadata={"description": "why it could not run"})
    created_at = fields.DateTime()


class CheckIn(Schema):
    batch = fields.Raw(metadata={"type": "string", "format": "binary",
                                 "description": "CSV or Parquet; without it, the inputs kept "
                                                "from recent score receipts are checked"})


class CheckQuery(Schema):
    limit = fields.Integer(load_default=None, allow_none=True,
                           validate=validate.Range(min=1, max=100_000),
                           metadata={"description": "how many recent receipts to check "
                                                    "(default: the monitor's every_receipts)"})


class OutcomesQuery(Schema):
    window = fields.String(load_default="30d",
                           metadata={"description": "window length, e.g. 30d or 4w"})
    windows = fields.Integer(load_default=6, validate=validate.Range(1, outcomes.MAX_WINDOWS),
                             metadata={"description": "how many consecutive windows, ending now"})
    positive = fields.List(fields.String(), load_default=None, allow_none=True,
                           metadata={"description": "outcomes that count as the positive class "
                                                    "(default: the version's positive label)"})


class OutcomeWindow(Schema):
    start = fields.DateTime()
    end = fields.DateTime()
    scored = fields.Integer()
    with_outcome = fields.Integer()
    outcome_coverage = fields.Float(allow_none=True)
    overrides = fields.Integer()
    override_rate = fields.Float(allow_none=True)
    positive_outcome_rate = fields.Float(allow_none=True)
    mean_score = fields.Float(allow_none=True)
    metrics = fields.Dict(allow_none=True, metadata={
        "description": "the audit's metrics over the window's receipts with an outcome"})
    status = fields.String(metadata={"description": "ok | insufficient_data | no_outcomes"})
    fairness = fields.Dict(allow_none=True, metadata={
        "description": "per-group audit, when protected attributes are kept in the inputs"})


class OutcomesOut(Schema):
    model = fields.String()
    version = fields.Integer()
    threshold = fields.Float()
    window_days = fields.Integer()
    label = fields.Dict()
    groups = fields.Dict()
    audit_baseline = fields.Dict(allow_none=True)
    min_group_size = fields.Integer()
    windows = fields.List(fields.Nested(OutcomeWindow))


def _version(name: str, number: int) -> ModelVersion:
    return records.find_version(unit(), name, number)


@blp.route(f"{VERSION}/bias-audits")
class Audits(MethodView):
    @blp.response(200, AuditOut(many=True))
    def get(self, name: str, number: int) -> Any:
        version = _version(name, number)
        return db().scalars(select(BiasAudit).where(BiasAudit.model_version_id == version.id)
                            .order_by(BiasAudit.id)).all()

    @blp.arguments(AuditIn)
    @blp.response(202, JobOut)
    def post(self, data: dict[str, Any], name: str, number: int) -> Any:
        return evidence_cases.audit(unit(), name, number, **data)


@blp.route("/bias-audits/<int:audit_id>")
class Audit(MethodView):
    @blp.response(200, AuditOut)
    def get(self, audit_id: int) -> Any:
        require(current_actor(), "read")
        audit = db().get(BiasAudit, audit_id)
        if audit is None:
            raise NotFound(f"no bias audit {audit_id}", {"audit_id": [str(audit_id)]})
        return audit


@blp.route("/bias-audits/<int:audit_id>/charts/<grouping>/<metric>.svg")
@blp.response(200, content_type="image/svg+xml")
def chart(audit_id: int, grouping: str, metric: str) -> Any:
    from ..analysis.fairness import metric_chart_svg

    require(current_actor(), "read")
    audit = db().get(BiasAudit, audit_id)
    result = (audit.results.get("groupings") or {}).get(grouping) if audit else None
    if result is None:
        raise NotFound(f"no grouping {grouping!r} in audit {audit_id}", {"grouping": [grouping]})
    try:
        svg = metric_chart_svg(result, metric)
    except (KeyError, ValueError) as exc:
        raise Invalid(f"no chart for metric {metric!r}", {"metric": [str(exc)]}) from exc
    return Response(svg, mimetype="image/svg+xml")


@blp.route("/jobs/<job_id>")
class JobItem(MethodView):
    @blp.response(200, JobOut)
    def get(self, job_id: str) -> Any:
        require(current_actor(), "read")
        job = db().get(Job, job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r}", {"job_id": [job_id]})
        return job


@blp.route(f"{VERSION}/drift-monitor")
class Monitor(MethodView):
    @blp.response(200, MonitorOut)
    def get(self, name: str, number: int) -> Any:
        version = _version(name, number)
        monitor = evidence.in_force_monitor(db(), version)
        if monitor is None:
            raise NotFound(f"{version.label} has no drift monitor", {"monitor": ["none"]})
        return monitor

    @blp.arguments(MonitorIn)
    @blp.response(201, MonitorOut)
    def post(self, data: dict[str, Any], name: str, number: int) -> Any:
        return evidence_cases.monitor(unit(), _version(name, number), **data)


@blp.route(f"{VERSION}/drift-checks")
class Checks(MethodView):
    @blp.response(200, CheckOut(many=True))
    def get(self, name: str, number: int) -> Any:
        version = _version(name, number)
        return db().scalars(
            select(DriftCheck).join(DriftMonitor)
            .where(DriftMonitor.model_version_id == version.id).order_by(DriftCheck.id)).all()

    @blp.arguments(CheckIn, location="files")
    @blp.arguments(CheckQuery, location="query")
    @blp.response(202, JobOut)
    def post(self, _files: Any, query: dict[str, Any], name: str, number: int) -> Any:
        """Check a posted batch, or (with no batch) the inputs kept from recent receipts."""
        batch = (uploaded_file("batch")[1] if "batch" in request.files or sent_raw()
                 else None)
        return evidence_cases.check_drift(unit(), name, number, batch, query["limit"])


@blp.route("/drift-checks/<int:check_id>")
class CheckItem(MethodView):
    @blp.response(200, CheckOut)
    def get(self, check_id: int) -> Any:
        require(current_actor(), "read")
        check = db().get(DriftCheck, check_id)
        if check is None:
            raise NotFound(f"no drift check {check_id}", {"check_id": [str(check_id)]})
        return check


@blp.route("/drift-checks/<int:check_id>/report")
@blp.response(200, content_type="text/html")
def report(check_id: int) -> Any:
    require(current_actor(), "read")
    check = db().get(DriftCheck, check_id)
    html = None if check is None else monitoring.report_html(services().store, check)
    if html is None:
        raise NotFound(f"no report for drift check {check_id} (none made, or deleted after "
                       "the policy's retention period)", {"check_id": [str(check_id)]})
    response = Response(html, mimetype="text/html")
    # The report runs evidently's own scripts; keep it away from Gatehouse's cookies and pages.
    response.headers["Content-Security-Policy"] = "sandbox allow-scripts"
    return response


@blp.route(f"{VERSION}/outcomes")
class Outcomes(MethodView):
    @blp.arguments(OutcomesQuery, location="query")
    @blp.response(200, OutcomesOut)
    def get(self, query: dict[str, Any], name: str, number: int) -> Any:
        """Performance and fairness of the served population, window by window, from the
        outcomes frontline tools report on score receipts (see registry.governance.outcomes)."""
        version = _version(name, number)
        return outcomes.outcome_report(
            db(), current_actor(), version, window_days=outcomes.parse_window(query["window"]),
            windows=query["windows"], positive=query["positive"], policy=services().policy,
            now=now())


@blp.route(f"{VERSION}/self-check", methods=["POST"])
@blp.response(200, VersionOut)
def self_check(name: str, number: int) -> Any:
    return evidence_cases.self_check(unit(), name, number)
