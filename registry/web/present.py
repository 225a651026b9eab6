"""How records read on a page: state tags, plain-English labels, dates, names and links."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, g, url_for
from markupsafe import Markup, escape
from sqlalchemy import select

from ..governance import scope
from ..platform.services import db
from ..platform.words import sentence
from ..records import Organisation, User

STATE_TAGS = {  # text, GOV.UK tag colour
    "draft": ("Draft", "govuk-tag--grey"),
    "submitted": ("Submitted", "govuk-tag--blue"),
    "approved": ("Approved", "govuk-tag--green"),
    "changes_requested": ("Changes requested", "govuk-tag--yellow"),
    "rejected": ("Rejected", "govuk-tag--red"),
    "suspended": ("Suspended", "govuk-tag--orange"),
    "retired": ("Retired", "govuk-tag--grey"),
}
STATES = tuple(STATE_TAGS)
KIND_NAMES = {
    "agreement": "data-sharing agreement",
    "dataset": "dataset",
    "dpia": "DPIA",
    "model": "model",
    "model_version": "model version",
}
DECISION_NAMES = {
    "approve": "Approve",
    "reject": "Reject",
    "request_changes": "Request changes",
    "suspend": "Suspend",
    "reinstate": "Reinstate",
    "retire": "Retire",
}
DECISION_PAST = {
    "approve": "Approved",
    "reject": "Rejected",
    "request_changes": "Changes requested",
    "suspend": "Suspended",
    "reinstate": "Reinstated",
    "retire": "Retired",
    "waive": "Waived",
    "acknowledge": "Acknowledged",
    "accept_change": "Proposed change accepted",
    "decline_change": "Proposed change declined",
}
ROLE_NAMES = {
    "data_scientist": "data scientist",
    "governance_officer": "information governance officer",
    "dpo": "data protection officer",
    "auditor": "auditor",
    "admin": "administrator",
    "system": "Gatehouse (automatic)",
}
REQUIREMENT_NAMES = {
    "art9_condition": "Art. 9 condition",
    "dpia": "DPIA",
    "step_need": "Step 1: the need",
    "step_processing": "Step 2: the processing",
    "step_consultation": "Step 3: consultation",
    "step_necessity": "Step 4: necessity",
    "step_risks": "Step 5: risks",
    "step_measures": "Step 6: measures",
    "step_signoff": "Step 7: sign-off",
    "prior_consultation": "Prior consultation (Art. 36)",
    "dpo_advice": "DPO advice",
    "dpo_response": "Response to the DPO",
    "model": "Model approved",
    "stages": "What each purpose covers",
    "purpose_permitted": "Purpose permitted for development",
    "use_permitted": "Purpose permitted for use",
    "audit_basis": "Basis for a fairness audit",
    "explanation": "Explanations",
}
ACRONYMS = {"auc": "AUC", "roc_auc": "ROC AUC", "f1": "F1", "dpia": "DPIA", "dpo": "DPO"}
VERDICT_TAGS = {
    "pass": ("Pass", "govuk-tag--green"),
    "fail": ("Fail", "govuk-tag--red"),
    "insufficient_data": ("Insufficient data", "govuk-tag--yellow"),
}


def register(app: Flask) -> None:
    env = app.jinja_env
    env.filters.update(
        date=format_date, datetime=format_datetime, humanise=humanise, percent=percent,
        number=number, role=role_name, decision=lambda d: DECISION_PAST.get(d, humanise(d)),
        kind=lambda k: KIND_NAMES.get(k, humanise(k)),
        requirement=lambda r: REQUIREMENT_NAMES.get(r, humanise(r)), action=action_name,
        term=lambda t: ACRONYMS.get(str(t).lower(), humanise(t)),
        sentence=humanise, short_hash=short_hash, signer_item=signer_item,
    )
    env.globals.update(state_tag=state_tag, verdict_tag=verdict_tag, user_name=user_name,
                       record_url=record_url, record_name=record_name, met_tag=met_tag,
                       record_hint=record_hint,
                       risk_tag=risk_tag, DECISION_NAMES=DECISION_NAMES,
                       ROLE_NAMES=ROLE_NAMES, STATES=STATES, STATE_TAGS=STATE_TAGS)


def humanise(value: Any) -> str:
    """`changes_requested` → `Changes requested`, acronyms kept (`HMO licensing enforcement`)."""
    return sentence(value)


def short_hash(value: str | None, keep: int = 12) -> Any:
    """A hash shortened to its first characters, the full value on hover and for copying."""
    if not value:
        return ""
    text = str(value)
    if len(text) <= keep:
        return Markup(f'<code class="app-hash">{escape(text)}</code>')
    return Markup(f'<code class="app-hash" title="{escape(text)}" data-full="{escape(text)}">'
                  f'{escape(text[:keep])}…</code><span class="govuk-visually-hidden"> '
                  f"(full value {escape(text)})</span>")


def signer_item(user: User, chosen: int | None) -> dict[str, Any]:
    """A user offered to sign off a DPIA, as a select item."""
    return {"value": str(user.id), "text": user.name or user.email,
            "selected": chosen is not None and str(chosen) == str(user.id)}


def action_name(action: str) -> str:
    """A ledger action in words: `decision:approve` → `Decision: approve`."""
    kind, _, what = action.partition(":")
    return f"{humanise(kind)}: {what.replace('_', ' ')}" if what else humanise(kind)


def role_name(role: str | None) -> str:
    return ROLE_NAMES.get(role or "", humanise(role))


def format_date(value: date | datetime | str | None) -> str:
    """`2 November 2026`, from a date, a datetime or an ISO date string."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.day} {value:%B %Y}"


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    hour = value.hour % 12 or 12
    return f"{format_date(value)} at {hour}:{value:%M}{'am' if value.hour < 12 else 'pm'}"


def percent(value: float | None, places: int = 0) -> str:
    return "not yet known" if value is None else f"{value * 100:.{places}f}%"


def number(value: float | int | None, places: int = 3) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{places}f}"


def state_tag(state: str) -> dict[str, str]:
    text, classes = STATE_TAGS.get(state, (humanise(state), "govuk-tag--grey"))
    return {"text": text, "classes": classes}


def verdict_tag(verdict: str | None) -> dict[str, str]:
    text, classes = VERDICT_TAGS.get(verdict or "", (humanise(verdict) or "Unknown",
                                                     "govuk-tag--grey"))
    return {"text": text, "classes": classes}


def risk_tag(level: str | None) -> Any:
    """A DPIA risk level as a coloured tag (the word carries the meaning, not the colour)."""
    colour = {"low": "green", "medium": "yellow", "high": "red"}.get(level or "", "grey")
    return Markup(f'<strong class="govuk-tag govuk-tag--{colour}">{escape(level or "unknown")}'
                  "</strong>")


def met_tag(met: bool) -> dict[str, str]:
    return ({"text": "Met", "classes": "govuk-tag--green"} if met
            else {"text": "Not met", "classes": "govuk-tag--red"})


def user_name(user_id: int | None) -> str:
    """A colleague's name for signed-in pages (never used on the public register)."""
    if user_id is None:
        return "Gatehouse (automatic)"
    from ..platform.services import db

    cache: dict[int, str] = g.setdefault("user_names", {})
    if user_id not in cache:
        user = db().get(User, user_id)
        cache[user_id] = (user.name or user.email) if user else f"user {user_id}"
    return cache[user_id]


def record_url(record: Any, suffix: str = "") -> str:
    """The record's page (with `suffix`, a route under it). A model is addressed by its name,
    which is its organisation's own: for a reader of several organisations the URL names the
    organisation too (`?organisation=SLUG`, see governance/scope.py)."""
    kind = record.kind
    if kind == "agreement":
        return url_for("pages.agreement", record_id=record.id) + suffix
    if kind == "dataset":
        return url_for("pages.dataset", record_id=record.id) + suffix
    if kind == "dpia":
        return url_for("dpia.view", record_id=record.id) + suffix
    if kind == "model":
        return url_for("pages.model", name=record.name) + suffix + _named_in(record)
    if kind == "model_version":
        return (url_for("pages.version", name=record.model.name, number=record.number)
                + suffix + _named_in(record))
    raise ValueError(f"no page for {kind}")


def _named_in(record: Any) -> str:
    session = db()
    seen = scope.current(session)
    if seen is not None and len(seen.records) < 2:
        return ""
    if seen is None and len(session.scalars(select(Organisation.id).limit(2)).all()) < 2:
        return ""
    org = session.get(Organisation, record.organisation_id)
    return f"?organisation={org.slug}" if org is not None else ""


def record_name(record: Any) -> str:
    """A short name for a record in lists and headings."""
    kind = record.kind
    if kind in ("agreement", "dpia"):
        return f"{record.reference}: {record.title}"
    if kind == "dataset":
        return record.title or record.name
    if kind == "model":
        return record.title or record.name
    if kind == "model_version":
        return f"{record.model.title or record.model.name}, version {record.number}"
    return str(record.label)


def record_hint(record: Any) -> str:
    """What tells a record apart from another with the same title: its reference or name (and
    version), and its owner."""
    kind = record.kind
    if kind in ("agreement", "dpia"):
        key = record.reference
    elif kind == "model_version":
        key = f"{record.model.name} v{record.number}"
    else:
        key = record.name
    owner = getattr(record, "owner_id", None)
    return f"{key}, owned by {user_name(owner)}" if owner else key
