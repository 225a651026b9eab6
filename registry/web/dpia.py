"""A DPIA filled in step by step, following the ICO's seven steps, then the DPO's advice and
the officer's acceptance or overruling of it.

Every step saves through the same use case as the JSON API (`usecases.records.edit`) with its
field names, validated by the same schema (`usecases.inputs.DpiaIn`), so the page and the API
accept exactly the same. The steps themselves are listed in `dpia_page`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from ..governance import registration
from ..governance.errors import Conflict, Forbidden, GovernanceError, Invalid
from ..governance.inputs import small_int
from ..governance.permissions import RULES, require
from ..platform.services import db
from ..records import DPIA, Dataset, Organisation, PredictiveModel
from ..records.dpias import RISK_EFFECTS, risk_level
from ..usecases import decisions, records
from ..usecases.inputs import DpiaIn
from . import forms
from .auth import current_actor, login_required, unit
from .dpia_page import BY_SLUG, RISK_FIELDS, SCALE, STEPS, TEXT_STEPS
from .pages import render_record

bp = Blueprint("dpia", __name__)


def _dpia(record_id: int) -> DPIA:
    record = records.find(unit(), "dpia", record_id)
    assert isinstance(record, DPIA)
    return record


def _require_edit(p: DPIA) -> None:
    """The same refusals `registration.update` gives, before a form is shown."""
    actor = current_actor()
    require(actor, "register")
    if p.state not in registration.EDITABLE:
        raise Conflict(f"{p.label} is {p.state}; it can be changed only while it is a draft or "
                       "after changes were requested", {"state": p.state})
    if actor.user_id not in (p.owner_id, p.created_by_id):
        raise Forbidden(f"only the owner of {p.label} may change or submit it")


# --- view -------------------------------------------------------------------------------------

@bp.route("/dpias/<int:record_id>")
@login_required
def view(record_id: int) -> Any:
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
    # a person who registers records in several organisations says which one's DPIA it is
    organisations = session.scalars(select(Organisation).where(Organisation.id.in_(
        actor.organisations(RULES["register"]))).order_by(Organisation.name)).all()
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
        if len(organisations) > 1:
            if form.get("organisation"):
                data["organisation"] = form["organisation"]
            else:
                errors.append({"text": "Choose the organisation the DPIA belongs to",
                               "href": "#organisation"})
        if not data["reference"]:
            errors.append({"text": "Enter a reference, for example DPIA-2026-04",
                           "href": "#reference"})
        if not data["title"]:
            errors.append({"text": "Enter a title", "href": "#title"})
        status = 422
        if not errors:
            try:
                loaded = DpiaIn(only=("reference", "title", "dataset_ids", "model_names",
                                      "organisation")).load(data)
                record = records.create(unit(), "dpia", loaded)
                return redirect(url_for("dpia.step", record_id=record.id, slug="need"))
            except ValidationError as exc:
                errors = _schema_errors(exc)
            except GovernanceError as exc:
                errors, status = forms.summary(exc, "#reference"), exc.status
    return render_template("dpia/new.html", datasets=datasets, models=models, form=form,
                           organisations=organisations if len(organisations) > 1 else [],
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
                records.edit(unit(), p, DpiaIn(partial=True).load(data))
            except ValidationError as exc:
                errors = _schema_errors(exc)
            except GovernanceError as exc:
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
        signers=records.dpia_signers(unit(), p) if slug == "signoff" else [],
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
        "measures_approved_by_id": _int(f.get("measures_approved_by_id")),
        "residual_risk_approved_by_id": _int(f.get("residual_risk_approved_by_id")),
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
        records.submit(unit(), p)
    except GovernanceError as exc:
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
        decisions.advise(unit(), p, text)
    except GovernanceError as exc:
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
        return render_record(p, 422, errors=errors, form=request.form,
                             field_errors=forms.by_field(errors))
    try:
        decisions.respond(unit(), p, answer == "yes", reason)
    except GovernanceError as exc:
        return _again(p, exc, "#accepted")
    flash("Your response to the DPO's advice is recorded.", "success")
    return redirect(url_for("dpia.view", record_id=p.id) + "#dpo-advice")


def _again(p: DPIA, exc: GovernanceError, href: str, status: int | None = None) -> Any:
    errors = forms.summary(exc, href)
    return render_record(p, status or exc.status, errors=errors, form=request.form,
                         field_errors=forms.by_field(errors))
