"""Reading GOV.UK form fields and turning refusals into an error summary."""

from __future__ import annotations

from datetime import date
from typing import Any

from ..governance.errors import Conflict, GovernanceError

# Field names in governance details → the id of the form control that fixes them.
ANCHORS = {"approved_until": "approved_until-day", "review_date": "review_date-day"}


def date_field(form: Any, name: str) -> tuple[date | None, str | None]:
    """A GOV.UK date input (`name-day`, `name-month`, `name-year`); blank means no date."""
    parts = [form.get(f"{name}-{p}", "").strip() for p in ("day", "month", "year")]
    if not any(parts):
        return None, None
    if not all(parts):
        missing = [p for p, v in zip(("day", "month", "year"), parts, strict=True) if not v]
        return None, f"The date must include a {' and '.join(missing)}"
    try:
        day, month, year = (int(p) for p in parts)
        if year < 1000:
            raise ValueError
        return date(year, month, day), None
    except (ValueError, OverflowError):  # "²", or a year beyond any calendar
        return None, "The date must be a real date, for example 27 3 2027"


def date_parts(value: date | str | dict[str, str] | None) -> dict[str, str]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return {"day": "", "month": "", "year": ""}
    if value is None:
        return {"day": "", "month": "", "year": ""}
    return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}


def summary(exc: GovernanceError, default_href: str = "#main-content",
            prefix: str = "") -> list[dict[str, str]]:
    """The error summary entries for a refusal: its message, then each field or unmet gate."""
    errors = []
    details = exc.details if isinstance(exc.details, dict) else {}
    unmet = details.get("unmet") if isinstance(exc, Conflict) else None
    lines = details.get("summary") if isinstance(exc, Conflict) else None
    fields = {k: v for k, v in details.items()
              if isinstance(v, list) and k not in ("unmet", "summary", "allowed_decisions",
                                                   "allowed_states", "roles_needed")}
    if not fields or unmet:
        errors.append({"text": exc.message, "href": default_href})
    for name, problems in fields.items():
        anchor = ANCHORS.get(name, f"{prefix}{name}".replace(".", "-"))
        for problem in problems:
            errors.append({"text": f"{_field_label(name)}: {problem}", "href": f"#{anchor}"})
    if lines:  # an approval refused: its few lines, this record's own rows on this page
        errors += [{"text": line["text"], "href": "#" + line["href"].split("#", 1)[1]
                    if "#" in line["href"] else line["href"]} for line in lines]
        return errors
    for req in unmet or []:
        if isinstance(req, dict):
            errors.append({"text": f"{req.get('detail', '')} — {req.get('remedy', '')}".strip(
                " —"), "href": f"#req-{req.get('id', '')}"})
    return errors


def by_field(errors: list[dict[str, str]]) -> dict[str, str]:
    """The first message for each form control, for its inline error message."""
    found: dict[str, str] = {}
    for e in errors:
        found.setdefault(e["href"].lstrip("#"), e["text"])
    return found


LABELS = {"measures_approved_by_id": "Measures approved by",
          "residual_risk_approved_by_id": "Residual risk accepted by",
          "approved_until": "Approved until"}


def _field_label(name: str) -> str:
    if name in LABELS:
        return LABELS[name]
    text = name.replace("_", " ").replace(".", " ")
    return text[:1].upper() + text[1:]
