"""A DPIA filled in step by step, following the ICO's seven steps, then the DPO's advice and
the officer's acceptance or overruling of it.

Every step saves through `registration.update` with the JSON API's field names, validated by
the API's own schema (`DpiaIn`, `RiskIn`), so the page and the API accept exactly the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from ..api.schemas import DpiaIn
from ..governance import dpia as advice_rules
from ..governance import registration
from ..governance.errors import Conflict, Forbidden, GovernanceError, Invalid
from ..governance.inputs import small_int
from ..governance.permissions import allowed, require
from ..platform.services import db, services
from ..records import DPIA, Dataset, PredictiveModel
from ..records.dpias import RISK_EFFECTS, risk_level
from . import forms
from .auth import current_actor, login_required

bp = Blueprint("dpia", __name__)


@dataclass(frozen=True)
class Step:
    slug: str
    number: int
    title: str
    hint: str
    gate_ids: tuple[str, ...]


STEPS = (
    Step("need", 1, "Identify the need for a DPIA",
         "Explain what the project aims to achieve and what processing it involves. Say why a "
         "DPIA is needed: the screening questions that pointed to high risk.", ("step_need",)),
    Step("processing", 2, "Describe the processing",
         "The nature (how data is collected, used, stored and deleted; its source; who it is "
         "shared with), the scope (what data, how much, how often, how long, how many people, "
         "which area), the context (the relationship with the people, their expectations, "
         "children or vulnerable groups) and the purposes.", ("step_processing",)),
    Step("consultation", 3, "Consultation",
         "Whose views you sought and how: the people affected or their representatives, "
         "staff, processors, information security and other experts.", ("step_consultation",)),
    Step("necessity", 4, "Necessity and proportionality",
         "Your lawful basis; whether the processing achieves the purpose and whether there is "
         "another way; how you prevent function creep, ensure data quality and minimisation, "
         "inform people and support their rights; safeguards for transfers.",
         ("step_necessity",)),
    Step("risks", 5, "Identify and assess risks",
         "Each risk to people's rights and freedoms, with its likelihood and severity.",
         ("step_risks",)),
    Step("measures", 6, "Measures to reduce risk",
         "For each risk: the measure, its effect on the risk, and the residual likelihood and "
         "severity.", ("step_measures", "prior_consultation")),
    Step("signoff", 7, "Sign off and record outcomes",
         "Who approved the measures and the residual risk, any prior consultation with the ICO, "
         "and when the DPIA will be reviewed.", ("step_signoff", "review_date")),
)
BY_SLUG = {s.slug: s for s in STEPS}
TEXT_STEPS = ("need", "processing", "consultation", "necessity")
SCALE = {1: ("Remote", "Minimal"), 2: ("Possible", "Significant"), 3: ("Probable", "Severe")}
RISK_FIELDS = ("description", "likelihood", "severity", "measure", "effect",
               "residual_likelihood", "residual_severity")


def now() -> Any:
    return services().clock.now()


def _dpia(record_id: int) -> DPIA:
    require(current_actor(), "read")
    record = registration.get(db(), "dpia", record_id)
    assert isinstance(record, DPIA)
    return record


def can_edit(p: DPIA) -> bool:
    actor = current_actor()
    return (allowed(actor, "register") and p.state in registration.EDITABLE
            and actor.user_id in (p.owner_id, p.created_by_id))


def _require_edit(p: DPIA) -> None:
    """The same refusals `registration.update` gives, before a form is shown."""
    actor = current_actor()
    require(actor, "register")
    if p.state not in registration.EDITABLE:
        raise Conflict(f"{p.label} is {p.state}; it can be changed only while it is a draft or "
                       "after changes were requested", {"state": p.state})
    if actor.user_id not in (p.owner_id, p.created_by_id):
        raise Forbidden(f"only the owner of {p.label} may change or submit it")


def step_status(p: DPIA, gate: Any) -> dict[str, dict[str, Any]]:
    met = {r.id: r.met for r in gate.requirements}
    started = {
        "need": bool(p.need.strip()), "processing": bool(p.processing.strip()),
        "consultation": bool(p.consultation.strip()), "necessity": bool(p.necessity.strip()),
        "risks": bool(p.risks),
        "measures": any((r.measure or "").strip() for r in p.risks),
        "signoff": bool(p.measures_approved_by or p.residual_risk_approved_by or p.review_date),
    }
    status = {}
    for step in STEPS:
        done = all(met.get(g, True) for g in step.gate_ids)
        if done:
            status[step.slug] = {"tag": {"text": "Completed", "classes": "govuk-tag--green"}}
        elif started[step.slug]:
            status[step.slug] = {"tag": {"text": "In progress", "classes": "govuk-tag--light-blue"}}
        else:
            status[step.slug] = {"tag": {"text": "Not started", "classes": "govuk-tag--grey"}}
    return status


def page_context(p: DPIA) -> dict[str, Any]:
    """Extra context for the DPIA's own page (the record page adds the shared sections)."""
    actor = current_actor()
    return {
        "dpia": p, "steps": STEPS, "scale": SCALE, "can_edit": can_edit(p),
        "can_advise": allowed(actor, "dpo_advice") and p.state in advice_rules.OPEN,
        "can_respond": (allowed(actor, "respond_to_advice") and p.state in advice_rules.OPEN
                        and bool(p.dpo_advice)),
        "step_status": step_status,
    }


# --- view -------------------------------------------------------------------------------------

@bp.route("/dpias/<int:record_id>")
@login_required
def view(record_id: int) -> Any:
    from .pages import render_record

    return render_record(_dpia(record_id))


# --- new --------------------------------------------------------------------------------------

@bp.route("/dpias/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    actor = current_actor()
    require(actor, "register")
    session = db()
    datasets = session.scalars(select(Dataset).order_by(Dataset.title)).all()
    models = session.scalars(select(PredictiveModel).order_by(PredictiveModel.title)).all()
    form: Any = request.form if request.method == "POST" else {}
    errors: list[dict[str, str]] = []
    status = 200
    if request.method == "POST":
        data = {
            "reference": form.get("reference", "").strip(),
            "title": form.get("title", "").strip(),
            "dataset_ids": [n for i in form.getlist("dataset_ids")
                            if (n := small_int(i)) is not None],
            "model_names": form.getlist("model_names"),
        }
        if not data["reference"]:
            errors.append({"text": "Enter a reference, for example DPIA-2026-04",
                           "href": "#reference"})
        if not data["title"]:
            errors.append({"text": "Enter a title", "href": "#title"})
        status = 422
        if not errors:
            try:
                loaded = DpiaIn(only=("reference", "title", "dataset_ids",
                                      "model_names")).load(data)
                record = registration.create(session, actor, "dpia", loaded, now())
                session.commit()
                return redirect(url_for("dpia.step", record_id=record.id, slug="need"))
            except ValidationError as exc:
                errors = _schema_errors(exc)
            except GovernanceError as exc:
                session.rollback()
                errors, status = forms.summary(exc, "#reference"), exc.status
    return render_template("dpia/new.html", datasets=datasets, models=models, form=form,
                           errors=errors, field_errors=forms.by_field(errors),
                           selected_datasets=set(form.getlist("dataset_ids")) if form else set(),
                           selected_models=set(form.getlist("model_names")) if form else set()), \
        (status if errors else 200)


# --- the seven steps --------------------------------------------------------------------------

def risk_rows(p: DPIA) -> list[dict[str, Any]]:
    return [{f: getattr(r, f) for f in RISK_FIELDS} for r in p.risks]


@bp.route("/dpias/<int:record_id>/steps/<slug>", methods=["GET", "POST"])
@login_required
def step(record_id: int, slug: str) -> Any:
    if slug not in BY_SLUG:
        abort(404)
    p = _dpia(record_id)
    _require_edit(p)
    current = BY_SLUG[slug]
    errors: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        data, errors, values, again = _read_step(p, slug)
        status = 422
        if not errors:
            try:
                loaded = DpiaIn(partial=True).load(data)
                registration.update(db(), current_actor(), p, loaded, now())
                db().commit()
            except ValidationError as exc:
                db().rollback()
                errors = _schema_errors(exc)
            except GovernanceError as exc:
                db().rollback()
                errors, status = forms.summary(exc, f"#{slug}"), exc.status
        if errors and "risks" in data:
            values["risks"] = data["risks"]  # show what was typed, against its error
        if not errors:
            if again:
                return redirect(url_for("dpia.step", record_id=p.id, slug=slug) + "#new-risk")
            following = STEPS[current.number] if current.number < len(STEPS) else None
            flash(f"Step {current.number}, {current.title.lower()}, is saved.", "success")
            if following is None or request.form.get("action") == "save":
                return redirect(url_for("dpia.view", record_id=p.id))
            return redirect(url_for("dpia.step", record_id=p.id, slug=following.slug))
    return render_template(
        f"dpia/step_{slug if slug in ('risks', 'measures', 'signoff') else 'text'}.html",
        dpia=p, step=current, steps=STEPS, errors=errors, field_errors=forms.by_field(errors),
        values=values, risks=values.get("risks") or risk_rows(p), scale=SCALE,
        effects=RISK_EFFECTS, risk_level=risk_level,
        review=forms.date_parts(values.get("review_date", p.review_date)),
        title=f"Step {current.number}: {current.title}",
    ), (status if errors else 200)


def _int(value: str | None) -> int | None:
    return small_int(value) if value else None


def _read_step(p: DPIA, slug: str) -> tuple[dict[str, Any], list[dict[str, str]],
                                             dict[str, Any], bool]:
    """(data for DpiaIn, errors, values to show again, whether to come back to this step)."""
    f = request.form
    errors: list[dict[str, str]] = []
    if slug in TEXT_STEPS:
        text = f.get(slug, "")
        return {slug: text}, errors, {slug: text}, False
    if slug == "risks":
        rows = risk_rows(p)
        kept = []
        for i, row in enumerate(rows):
            if f.get(f"risks-{i}-remove"):
                continue
            row = {**row, "description": f.get(f"risks-{i}-description", "").strip(),
                   "likelihood": _int(f.get(f"risks-{i}-likelihood")),
                   "severity": _int(f.get(f"risks-{i}-severity"))}
            if not row["description"]:
                errors.append({"text": f"Describe risk {i + 1}, or remove it",
                               "href": f"#risks-{i}-description"})
            kept.append(row)
        new = {"description": f.get("risks-new-description", "").strip(),
               "likelihood": _int(f.get("risks-new-likelihood")),
               "severity": _int(f.get("risks-new-severity"))}
        again = f.get("action") == "add"
        if new["description"]:
            kept.append({**dict.fromkeys(RISK_FIELDS), **new})
        elif new["likelihood"] or new["severity"]:
            errors.append({"text": "Describe the new risk", "href": "#risks-new-description"})
        elif again:
            errors.append({"text": "Describe the risk to add", "href": "#risks-new-description"})
        return {"risks": kept}, errors, {}, again
    if slug == "measures":
        rows = risk_rows(p)
        for i, row in enumerate(rows):
            row.update(measure=f.get(f"risks-{i}-measure", "").strip() or None,
                       effect=f.get(f"risks-{i}-effect") or None,
                       residual_likelihood=_int(f.get(f"risks-{i}-residual_likelihood")),
                       residual_severity=_int(f.get(f"risks-{i}-residual_severity")))
        return {"risks": rows}, errors, {}, False
    # sign-off
    review, problem = forms.date_field(f, "review_date")
    if problem:
        errors.append({"text": f"Review date: {problem}", "href": "#review_date-day"})
    data = {
        "measures_approved_by": f.get("measures_approved_by", "").strip() or None,
        "residual_risk_approved_by": f.get("residual_risk_approved_by", "").strip() or None,
        "prior_consultation": f.get("prior_consultation", "").strip() or None,
        "review_date": review.isoformat() if review else None,
    }
    values = {**data, "review_date": review or {
        "day": f.get("review_date-day", ""), "month": f.get("review_date-month", ""),
        "year": f.get("review_date-year", "")}}
    return data, errors, values, False


def _schema_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Marshmallow's nested messages → error summary entries anchored on the form controls."""
    errors: list[dict[str, str]] = []

    def label(path: list[str]) -> str:
        if len(path) >= 3 and path[0] == "risks" and small_int(path[1]) is not None:
            return f"Risk {int(path[1]) + 1}, {path[2].replace('_', ' ')}"
        text = " ".join(path).replace("_", " ")
        return text[:1].upper() + text[1:]

    def words(text: str) -> str:
        if text.startswith("Must be greater than or equal to 1 and less than or equal to 3"):
            return "choose 1, 2 or 3"
        if text.startswith("Must be one of"):
            return "choose one of the options"
        return text[:1].lower() + text[1:]

    def walk(messages: Any, path: list[str]) -> None:
        if isinstance(messages, dict):
            for key, value in messages.items():
                walk(value, [*path, str(key)])
            return
        for text in messages if isinstance(messages, list) else [messages]:
            anchor = "review_date-day" if path[-1:] == ["review_date"] else "-".join(path)
            errors.append({"text": f"{label(path)}: {words(str(text))}", "href": f"#{anchor}"})

    walk(exc.normalized_messages(), [])
    return errors


# --- submit, advice, response -----------------------------------------------------------------

@bp.route("/dpias/<int:record_id>/submit", methods=["POST"])
@login_required
def submit(record_id: int) -> Any:
    p = _dpia(record_id)
    try:
        registration.submit(db(), current_actor(), p, now())
        db().commit()
    except GovernanceError as exc:
        db().rollback()
        return _again(p, exc, "#submit")
    flash(f"{p.reference} is submitted for approval.", "success")
    return redirect(url_for("dpia.view", record_id=p.id))


@bp.route("/dpias/<int:record_id>/advice", methods=["POST"])
@login_required
def advice(record_id: int) -> Any:
    p = _dpia(record_id)
    require(current_actor(), "dpo_advice")
    text = request.form.get("advice", "")
    if not text.strip():
        return _again(p, Invalid("Enter your advice", {}), "#advice", status=422)
    try:
        advice_rules.record_advice(db(), current_actor(), p, text, now())
        db().commit()
    except GovernanceError as exc:
        db().rollback()
        return _again(p, exc, "#advice")
    flash("Your advice is recorded. A governance officer must now accept or overrule it, "
          "with reasons.", "success")
    return redirect(url_for("dpia.view", record_id=p.id) + "#dpo-advice")


@bp.route("/dpias/<int:record_id>/advice-response", methods=["POST"])
@login_required
def respond(record_id: int) -> Any:
    p = _dpia(record_id)
    require(current_actor(), "respond_to_advice")
    answer = request.form.get("accepted", "")
    reason = request.form.get("reason", "")
    errors = []
    if answer not in ("yes", "no"):
        errors.append({"text": "Select whether you accept or overrule the advice",
                       "href": "#accepted"})
    if not reason.strip():
        errors.append({"text": "Enter your reasons", "href": "#reason"})
    if errors:
        from .pages import render_record

        return render_record(p, 422, errors=errors, form=request.form,
                             field_errors=forms.by_field(errors))
    try:
        advice_rules.respond_to_advice(db(), current_actor(), p, answer == "yes", reason, now())
        db().commit()
    except GovernanceError as exc:
        db().rollback()
        return _again(p, exc, "#accepted")
    flash("Your response to the DPO's advice is recorded.", "success")
    return redirect(url_for("dpia.view", record_id=p.id) + "#dpo-advice")


def _again(p: DPIA, exc: GovernanceError, href: str, status: int | None = None) -> Any:
    from .pages import render_record

    errors = forms.summary(exc, href)
    return render_record(p, status or exc.status, errors=errors, form=request.form,
                         field_errors=forms.by_field(errors))
