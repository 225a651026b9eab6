"""The public register's pages and exports (JSON and CSV), open to everyone without signing in.

What they say is built in :mod:`..governance.public_register`.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from ..governance.public_register import (
    STANDARD,
    STANDARD_VERSION,
    STATUSES,
    atrs_record,
    paused,
    public_models,
    public_status,
)
from ..governance.public_register import register as public_register
from ..platform.services import db, now, services
from ..records import Organisation, PredictiveModel

bp = Blueprint("transparency", __name__)
CSV_FIELDS = (
    "id", "status", "paused", "phase", "name", "organisation", "description", "how_it_is_used",
    "why_it_is_used", "website", "contact", "senior_responsible_owner_role",
    "technical_owner_role", "maintenance_owner_role", "external_supplier_involved", "supplier",
    "supplier_role", "purpose", "scope", "benefits", "benefit_measure", "decision_role",
    "human_oversight", "people_scored_per_year", "versions", "data_sources",
    "protected_characteristics", "data_sharing_agreements", "legal_bases", "impact_assessments",
    "risks", "risk_tier", "risk_factors", "bias_audit", "drift_monitoring", "approved_on",
    "approved_until", "date_updated",
)


def website(model: PredictiveModel) -> str:
    """A model's public page: its name and its organisation's slug (names are each
    organisation's own)."""
    org = db().get(Organisation, model.organisation_id)
    return url_for("transparency.model", name=model.name,
                   organisation=org.slug if org is not None else None, _external=True)


def _wanted_organisation(session: Any) -> Organisation | None:
    """The organisation `?organisation=<slug>` names (404 for one unknown)."""
    slug = request.args.get("organisation", "")
    if not slug:
        return None
    org = session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    if org is None:
        abort(404)
    return org  # type: ignore[no-any-return]


def register() -> list[dict[str, Any]]:
    session = db()
    org = _wanted_organisation(session)
    return public_register(session, services().policy, now(), website,
                           current_app.config["TRANSPARENCY_CONTACT"],
                           org.id if org is not None else None)


# --- pages and exports ------------------------------------------------------------------------

@bp.route("/transparency")
def index() -> Any:
    session = db()
    wanted = request.args.get("status", "")
    org = _wanted_organisation(session)
    listed = public_models(session, org.id if org is not None else None)
    rows = [(m, s) for m, s in listed if not wanted or s == wanted]
    organisations = session.scalars(select(Organisation).order_by(Organisation.name)).all()
    orgs = {o.id: o.name for o in organisations}
    slugs = {o.id: o.slug for o in organisations}
    counts: dict[str, int] = {}
    for _, s in listed:
        counts[s] = counts.get(s, 0) + 1
    return render_template("transparency/index.html", rows=rows, orgs=orgs, slugs=slugs,
                           statuses=STATUSES,
                           paused=lambda m: paused(session, m, services().policy,
                                                   now().date()),
                           organisations=organisations,
                           organisation=org.slug if org is not None else "",
                           wanted=wanted if wanted in STATUSES else "", counts=counts,
                           public=True, title="Register of algorithmic tools")


@bp.route("/transparency/<name>")
def model(name: str) -> Any:
    session = db()
    org = _wanted_organisation(session)
    named = select(PredictiveModel).where(PredictiveModel.name == name)
    if org is not None:
        named = named.where(PredictiveModel.organisation_id == org.id)
    public = [(m, public_status(m)) for m in session.scalars(named.order_by(
        PredictiveModel.organisation_id))]
    public = [(m, s) for m, s in public if s is not None]
    if not public:
        abort(404)
    if len(public) > 1:
        # Two organisations' tools of one name (names are each organisation's own): never one
        # of them at a guess, but each, with the address that names its organisation.
        return _choose(session, name, [m for m, _ in public])
    m, status = public[0]
    record = atrs_record(session, m, status, services().policy, now(),
                         website(m), current_app.config["TRANSPARENCY_CONTACT"])
    return render_template("transparency/model.html", r=record, status=status, public=True,
                           title=record["tier_1"]["name"])


def _choose(session: Any, name: str, models: list[PredictiveModel]) -> Any:
    """300 Multiple Choices: the tools of that name, one per organisation, each linked by the
    address with its organisation's slug (as `?organisation=SLUG` names it in the API)."""
    organisations = {o.id: o for o in session.scalars(select(Organisation).where(
        Organisation.id.in_([m.organisation_id for m in models])))}
    choices = [{"title": m.title or m.name, "organisation": organisations[m.organisation_id].name,
                "url": url_for("transparency.model", name=m.name,
                               organisation=organisations[m.organisation_id].slug)}
               for m in models]
    body = render_template("transparency/choose.html", name=name, choices=choices, public=True,
                           title=f"{len(choices)} organisations have a tool named {name}")
    return Response(body, status=300, mimetype="text/html")


@bp.route("/transparency.json")
def export_json() -> Any:
    records = register()
    body = {"standard": STANDARD, "standard_version": STANDARD_VERSION,
            "generated_at": now().isoformat(), "count": len(records),
            "records": records}
    response = current_app.response_class(
        current_app.json.dumps(body, indent=2, sort_keys=False) + "\n",
        mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/transparency.csv")
def export_csv() -> Any:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for r in register():
        writer.writerow({k: spreadsheet_safe(v) for k, v in _flat(r).items()})
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="transparency-register.csv"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's rule
    for CSV injection): a model's title is written by whoever registers it. Numbers stay."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _join(items: Any) -> str:
    return "; ".join(str(i) for i in items if i not in (None, ""))


def _drift_words(drift: dict[str, Any] | None) -> str:
    if not drift or not drift.get("monitored"):
        return "not monitored"
    words = ["monitored" + (f", last checked {drift['last_check']}" if drift.get("last_check")
                            else "")]
    if drift.get("state") not in (None, "working"):
        words.append(drift["state_text"])
    words += [a["text"] for a in drift.get("open_alerts") or []]
    return "; ".join(words)


def _flat(r: dict[str, Any]) -> dict[str, Any]:
    """One ATRS record as one CSV row: lists joined with '; '."""
    t1, t2 = r["tier_1"], r["tier_2"]
    own, desc = t2["owner_and_responsibility"], t2["description_and_rationale"]
    dec, data = t2["decision_making_process"], t2["data"]
    rmi = t2["risks_mitigations_and_impact_assessments"]
    bias, drift, approval = rmi["bias_audit"], rmi["drift_monitoring"], t2["approval"]
    return {
        "id": r["id"], "status": r["metadata"]["status"],
        "paused": "yes" if r["metadata"]["paused"] else "no", "phase": r["metadata"]["phase"],
        "name": t1["name"], "organisation": t1["organisation"],
        "description": t1["description"], "how_it_is_used": t1["how_it_is_used"],
        "why_it_is_used": t1["why_it_is_used"], "website": t1["website"],
        "contact": t1["contact"],
        "senior_responsible_owner_role": own["senior_responsible_owner_role"],
        "technical_owner_role": own["technical_owner_role"],
        "maintenance_owner_role": own["maintenance_owner_role"],
        "external_supplier_involved": "yes" if own["external_supplier_involved"] else "no",
        "supplier": own["supplier"] or "", "supplier_role": own["supplier_role"] or "",
        "purpose": desc["purpose"], "scope": desc["scope"], "benefits": desc["benefits"],
        "benefit_measure": desc["benefit_measure"], "decision_role": dec["decision_role"],
        "human_oversight": dec["human_decisions_and_review"],
        "people_scored_per_year": dec["frequency_and_scale_of_usage"] or "",
        "versions": _join(f"v{v['version']} {v['status']}" for v in desc["versions"]),
        "data_sources": _join(s["name"] for s in data["sources"]),
        "protected_characteristics": _join(data["protected_characteristics"]),
        "data_sharing_agreements": _join(f"{a['reference']} ({a['provider']} to "
                                         f"{a['recipient']})"
                                         for a in data["collection_and_sharing"]),
        "legal_bases": _join(sorted({a["legal_basis"] for a in data["collection_and_sharing"]})),
        "impact_assessments": _join(f"{p['reference']} ({p['status']})"
                                    for p in rmi["impact_assessments"]),
        "risks": _join(f"{x['risk']} [{x['residual_level'] or x['level']}]"
                       for x in rmi["risks"]),
        "risk_tier": rmi["risk_tier"]["tier"],
        "risk_factors": _join(rmi["risk_tier"]["factors"]),
        "bias_audit": (f"{bias['verdict']} on {bias['date']}" + (
            "; groups not assessed, waived by an officer: "
            + ", ".join(bias["groups_not_assessed_waived"])
            if bias.get("groups_not_assessed_waived") else "")) if bias else "",
        "drift_monitoring": _drift_words(drift),
        "approved_on": approval["approved_on"] if approval else "",
        "approved_until": approval["approved_until"] if approval else "",
        "date_updated": r["metadata"]["date_updated"],
    }
