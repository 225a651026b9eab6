"""Signed-in pages: the dashboard, lists, record pages with their checklist and decisions,
an agreement's impact, a model's evidence, and the audit ledger."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from ..governance import (
    downloads,
    gates,
    lifecycle,
    monitoring,
    order,
    parties,
    registration,
    risk,
    upstream,
    waivers,
    watch,
)
from ..governance.chain import fit_for_use, usable
from ..governance.errors import GovernanceError
from ..governance.inputs import small_int
from ..governance.permissions import allowed, require
from ..platform.services import db, now, services
from ..records import (
    DPIA,
    ApiClient,
    Dataset,
    DataSharingAgreement,
    Decision,
    DriftCheck,
    DriftMonitor,
    Governed,
    LedgerEntry,
    ModelVersion,
    PredictiveModel,
    User,
)
from ..records.agreements import AGREEMENT_STAGES, STAGE_WORDS
from ..usecases import ledger as ledger_cases
from ..usecases import records
from ..usecases import watch as watching
from . import changes, dpia_page, evidence
from . import dashboard as dash
from .auth import current_actor, login_required, unit
from .present import STATES, record_name, record_url

bp = Blueprint("pages", __name__)

LISTS = {  # url segment → (kind, heading, record class)
    "agreements": ("agreement", "Data-sharing agreements", DataSharingAgreement),
    "datasets": ("dataset", "Datasets", Dataset),
    "dpias": ("dpia", "Data protection impact assessments", DPIA),
    "models": ("model", "Models", PredictiveModel),
}
PER_PAGE = 50


def read() -> None:
    require(current_actor(), "read")


# --- dashboard --------------------------------------------------------------------------------

@bp.route("/")
def home() -> Any:
    return redirect(url_for("pages.dashboard"))


@bp.route("/dashboard")
@login_required
def dashboard() -> Any:
    read()
    actor, session, policy, moment = current_actor(), db(), services().policy, now()
    return render_template(
        "dashboard.html",
        inbox=watching.my_inbox(unit()),
        awaiting=dash.awaiting_decision(session, actor, policy, moment),
        due=dash.due_soon(session, moment.date(), policy.watch.due_within_days),
        due_within=policy.watch.due_within_days,
        stopped=dash.stopped(session, policy, moment),
        monitors=dash.monitors_unwell(session, policy, moment),
        alerts=dash.open_alerts(session, policy),
        mine=dash.my_records(session, actor, policy, moment),
        evidence_to_decide=changes.to_decide(session, actor, policy),
        can_decide=allowed(actor, "decide"),
        can_register=allowed(actor, "register"),
    )


# --- lists ------------------------------------------------------------------------------------

@bp.route("/<any(agreements, datasets, dpias, models):segment>")
@login_required
def listing(segment: str) -> Any:
    read()
    kind, heading, cls = LISTS[segment]
    session = db()
    state = request.args.get("state", "")
    owner = request.args.get("owner", "")
    page = small_int(request.args.get("page", "")) or 1
    query = select(cls)
    if state in STATES:
        query = query.where(cls.state == state)
    else:
        state = ""
    if small_int(owner) is not None:
        query = query.where(cls.owner_id == small_int(owner))
    else:
        owner = ""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(cls.id.desc()).offset((page - 1) * PER_PAGE)
                            .limit(PER_PAGE)).all()
    owner_ids = session.scalars(select(cls.owner_id).distinct()).all()
    owners = session.scalars(select(User).where(User.id.in_(owner_ids))
                             .order_by(User.name)).all() if owner_ids else []
    return render_template(
        "list.html", segment=segment, kind=kind, heading=heading, items=items, total=total,
        state_filter=state, owner_filter=owner, owners=owners, page=page,
        pages=max(1, -(-total // PER_PAGE)), record_name=record_name,
        can_create_dpia=segment == "dpias" and allowed(current_actor(), "register"),
    )


# --- record pages -----------------------------------------------------------------------------

def record_context(record: Governed) -> dict[str, Any]:
    """What every record page shows: checklist, decisions, ledger and the decision form."""
    actor, session, policy, moment = current_actor(), db(), services().policy, now()
    gate = order.gate(session, record, policy, moment)
    decisions = session.scalars(select(Decision).where(
        Decision.subject_kind == record.kind, Decision.subject_id == record.id)
        .order_by(Decision.id)).all()
    ledger = (session.scalars(select(LedgerEntry).where(
        LedgerEntry.subject_kind == record.kind, LedgerEntry.subject_id == str(record.id))
        .order_by(LedgerEntry.seq)).all() if allowed(actor, "read_ledger") else None)
    options = decision_options(record)
    lease = None
    if {"approve", "reinstate"} & set(options):
        try:
            lease = lifecycle.lease_end(record, policy, moment.date(), None)
        except GovernanceError:
            lease = None
    use = (usable(session, record, policy, moment.date(), moment)
           if record.state in ("approved", "suspended") else None)
    separation = (allowed(actor, "decide") and actor.user_id in lifecycle.builders(record)
                  and record.state in ("submitted", "suspended"))
    return {
        "record": record, "gate": gate, "decisions": decisions, "ledger": ledger,
        "options": options, "lease_end": lease, "use": use, "separation": separation,
        "approvals_missing": gates.approvals_missing(session, record, policy),
        "decide_url": decide_url(record), "title": record_name(record),
        "errors": [], "form": {}, "field_errors": {}, "evidence_form": {},
        "can_read_ledger": allowed(actor, "read_ledger"),
    }


def decision_options(record: Governed) -> list[str]:
    """The decision buttons this person may press now; the server checks them again."""
    actor, session, policy = current_actor(), db(), services().policy
    if not allowed(actor, "decide"):
        return []
    options = lifecycle.allowed_decisions(record.state)
    # approving and reinstating both fill a place in the record's round (see gates)
    for fills_a_place in ("approve", "reinstate"):
        if fills_a_place in options and not lifecycle.can_approve(session, actor, record,
                                                                   policy):
            options.remove(fills_a_place)
    return options


def decide_url(record: Governed) -> str:
    return record_url(record, "/decisions")


def render_record(record: Governed, status: int = 200, **extra: Any) -> Any:
    context = record_context(record)
    context.update(extra)
    template, more = _KIND_PAGES[record.kind](record)
    context.update(more)
    return render_template(template, **context), status


@bp.route("/agreements/<int:record_id>")
@login_required
def agreement(record_id: int) -> Any:
    return render_record(records.find(unit(), "agreement", record_id))


@bp.route("/datasets/<int:record_id>")
@login_required
def dataset(record_id: int) -> Any:
    return render_record(records.find(unit(), "dataset", record_id))


@bp.route("/models/<name>")
@login_required
def model(name: str) -> Any:
    return render_record(records.find(unit(), "model", name))


@bp.route("/models/<name>/versions/<int:number>")
@login_required
def version(name: str, number: int) -> Any:
    return render_record(records.find_version(unit(), name, number))


def _agreement_page(a: Any) -> tuple[str, dict[str, Any]]:
    deps = upstream.dependents_of_agreement(db(), a)
    actor = current_actor()
    return "records/agreement.html", {
        "dependents": deps, "stage_names": [(s, STAGE_WORDS[s]) for s in AGREEMENT_STAGES],
        # the stages are ticked on the page by the agreement's owner while it may be changed
        "can_edit_stages": allowed(actor, "register") and a.state in registration.EDITABLE
        and actor.user_id in (a.owner_id, a.created_by_id),
        # the sides the viewer decides for (each party stops or restarts its own)
        "my_sides": parties.sides_of(actor, a),
    }


def _dataset_page(d: Any) -> tuple[str, dict[str, Any]]:
    session = db()
    from ..records import version_datasets

    version_ids = session.scalars(select(version_datasets.c.version_id).where(
        version_datasets.c.dataset_id == d.id)).all()
    versions = session.scalars(select(ModelVersion).where(ModelVersion.id.in_(version_ids))
                               .order_by(ModelVersion.id)).all() if version_ids else []
    may_download = allowed(current_actor().within(d.organisation_id), "download_data")
    moment = now()
    return "records/dataset.html", {
        "dpias": upstream.dpias_covering_dataset(session, d), "versions": versions,
        "may_download": may_download,
        # why a download would be refused today, said on the page rather than learnt by trying
        "download_refused": downloads.refusal(session, d, services().policy, moment)
        if may_download and d.data_path else None}


def version_summary(v: ModelVersion) -> dict[str, Any]:
    session, policy, moment = db(), services().policy, now()
    serve = fit_for_use(session, v, policy, moment.date(), moment)
    why_not = serve.reason.replace(f"{v.label} is not servable: ", "").replace(
        f"{v.label} is not usable: ", "")
    # a model for aggregate analysis is usable, but never to score a case
    return {"version": v, "serve": serve, "why_not": why_not,
            "aggregate": v.model.purpose_class == "aggregate_analysis",
            "scoring": evidence.scoring(session, [v.id], moment)}


def model_evidence(v: ModelVersion | None) -> dict[str, Any]:
    if v is None:
        return {"audit": None, "audits": [], "drift": None, "scoring": None}
    session = db()
    audits = evidence.audits_of(session, v)
    return {
        "audit": evidence.audit_view(session, audits[0]) if audits else None,
        "audits": audits,
        "drift": evidence.drift_view(session, v, services().store.exists, services().policy,
                                     now()),
        "scoring": evidence.scoring(session, [v.id], now()),
        "evidence_version": v,
    }


def _model_page(m: Any) -> tuple[str, dict[str, Any]]:
    session, policy = db(), services().policy
    versions = [version_summary(v) for v in reversed(m.versions)]
    latest = next((v for v in reversed(m.versions) if v.state != "draft"),
                  m.versions[-1] if m.versions else None)
    return "records/model.html", {
        "tier": risk.tier(session, m, policy),
        "versions": versions,
        "dpias": upstream.dpias_covering_model(session, m),
        "datasets": upstream.model_datasets(session, m),
        "all_scoring": evidence.scoring(session, [v.id for v in m.versions], now()),
        **model_evidence(latest),
    }


def _version_page(v: Any) -> tuple[str, dict[str, Any]]:
    session, policy = db(), services().policy
    return "records/version.html", {
        "tier": risk.tier(session, v.model, policy),
        "summary": version_summary(v),
        **model_evidence(v),
        **changes.page_context(session, current_actor(), v, policy),
        "watch_alerts": watch.alerts_of(session, v),
        "may_acknowledge": waivers.may_waive(current_actor(), v),
    }


def _dpia_page(p: Any) -> tuple[str, dict[str, Any]]:
    return "dpia/view.html", dpia_page.page_context(p)


_KIND_PAGES = {
    "agreement": _agreement_page,
    "dataset": _dataset_page,
    "model": _model_page,
    "model_version": _version_page,
    "dpia": _dpia_page,
}


# --- impact, drift reports, ledger ------------------------------------------------------------

@bp.route("/agreements/<int:record_id>/impact")
@login_required
def impact(record_id: int) -> Any:
    read()
    session, policy, today = db(), services().policy, now().date()
    a = registration.get(session, "agreement", record_id)
    deps = upstream.dependents_of_agreement(session, a)
    datasets = [(d, usable(session, d, policy, today)) for d in deps["datasets"]]
    versions = [(v, fit_for_use(session, v, policy, today)) for v in deps["model_versions"]]
    clients: list[ApiClient] = deps["clients"]
    return render_template("records/impact.html", record=a, title=record_name(a),
                           use=usable(session, a, policy, today), datasets=datasets,
                           versions=versions, clients=clients)


@bp.route("/models/<name>/versions/<int:number>/drift-checks/<int:check_id>/report")
@login_required
def drift_report(name: str, number: int, check_id: int) -> Any:
    read()
    session = db()
    v = registration.get(session, "model_version", (name, number))
    check = session.get(DriftCheck, check_id)
    monitor = session.get(DriftMonitor, check.monitor_id) if check else None
    if check is None or monitor is None or monitor.model_version_id != v.id:
        abort(404)
    html = monitoring.report_html(services().store, check)
    if html is None:
        abort(404)
    response = Response(html, mimetype="text/html")
    # evidently's report runs its own scripts: keep it in a sandbox, away from this site.
    response.headers["Content-Security-Policy"] = (
        "sandbox allow-scripts; default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:")
    return response


@bp.route("/ledger")
@login_required
def ledger() -> Any:
    require(current_actor(), "read_ledger")
    session = db()
    page = small_int(request.args.get("page", "")) or 1
    total = session.scalar(select(func.count()).select_from(LedgerEntry)) or 0
    entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq.desc())
                              .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return render_template("ledger.html", entries=entries, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)),
                           verification=ledger_cases.verify(unit()).as_dict())
