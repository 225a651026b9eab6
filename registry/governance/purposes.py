"""Purpose bound end to end: what each agreement grants a purpose, stage by stage.

An agreement permits purposes, and for each says which stages it covers: development
(training and evaluating a model), use (scoring cases) and fairness_audit (auditing fairness
with special-category data). Training and evaluating need development from every agreement
under the version's data, serving needs use, and a bias audit on special-category data needs
fairness_audit from every agreement under the audited dataset.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import Dataset, DataSharingAgreement, ModelVersion, PredictiveModel
from ..records.agreements import STAGE_WORDS
from . import evidence, upstream

Status = tuple[bool, str, str]  # met, detail, remedy: one gate requirement


def refusals(agreements: Iterable[DataSharingAgreement], purpose: str, stage: str) -> list[str]:
    """One sentence for each agreement that does not grant the purpose for the stage."""
    out = []
    for a in agreements:
        if purpose not in a.purposes:
            out.append(f"{a.label} does not permit {purpose!r}")
        elif not a.grants(purpose, stage):
            out.append(f"{a.label} permits {purpose!r} but not for {STAGE_WORDS[stage]}")
    return out


def agreements_under(datasets: Iterable[Dataset]) -> list[DataSharingAgreement]:
    """Every agreement covering any of the datasets, each once, in the order registered."""
    found = {a.id: a for d in datasets for a in d.agreements}
    return [found[i] for i in sorted(found)]


def latest_version(model: PredictiveModel) -> ModelVersion | None:
    """The version served when none is pinned: the newest approved, else the newest."""
    approved = [v for v in model.versions if v.state == "approved"]
    return approved[-1] if approved else (model.versions[-1] if model.versions else None)


# --- what the agreement gate asks -------------------------------------------------------------

def agreement_stages_status(a: DataSharingAgreement) -> Status:
    """Every permitted purpose states the stages it covers."""
    silent = [p for p in a.purposes if not a.stages.get(p)]
    if not a.purposes:
        return True, "no permitted purposes to state stages for", ""
    if silent:
        return (False, f"no stage is stated for {', '.join(map(repr, silent))}",
                "for each permitted purpose, tick what the agreement covers: development "
                "(training a model), use (scoring cases), fairness auditing with "
                "special-category data")
    return True, "; ".join(
        f"{p}: {', '.join(STAGE_WORDS[s] for s in a.stages[p])}" for p in a.purposes), ""


# --- what the version gate asks ---------------------------------------------------------------

def development_status(v: ModelVersion) -> Status:
    """Training and evaluation data: every agreement under it grants development."""
    purpose = v.model.purpose
    datasets = upstream.version_datasets_of(v)
    if not datasets:
        return False, "no datasets", "link training and evaluation datasets"
    problems = refusals(agreements_under(datasets), purpose, "development")
    if problems:
        return (False, "; ".join(problems),
                f"use data whose agreements cover {purpose!r} for development, or amend them")
    return True, f"every agreement upstream permits {purpose!r} for development", ""


def use_status(v: ModelVersion) -> Status:
    """Serving: every agreement under the training and evaluation data grants use."""
    if not upstream.version_datasets_of(v):
        return False, "no datasets", "link training and evaluation datasets"
    refusal = use_refusal(v)
    if refusal:
        return (False, refusal, f"amend the agreements to cover {v.model.purpose!r} for use "
                                "(scoring cases), or use data whose agreements do")
    return True, f"every agreement upstream permits {v.model.purpose!r} for use", ""


def use_refusal(v: ModelVersion) -> str:
    """Why the version may not be served for its model's purpose, or "" if it may."""
    return "; ".join(refusals(agreements_under(upstream.version_datasets_of(v)),
                              v.model.purpose, "use"))


def audit_basis_status(session: Session, v: ModelVersion) -> Status | None:
    """A bias audit on special-category data needs fairness_audit from every agreement under
    the audited dataset; None when the audit in force is on no special-category data."""
    audit = evidence.in_force_audit(session, v)
    dataset = None if audit is None else session.get(Dataset, audit.dataset_id)
    if dataset is None or not (dataset.classification == "special_category"
                               or any(a.special_category for a in dataset.agreements)):
        return None
    purpose = v.model.purpose
    problems = refusals(agreements_under([dataset]), purpose, "fairness_audit")
    if problems:
        return (False, f"audit {audit.id} is on special-category data: " + "; ".join(problems),
                f"amend the agreements to cover {purpose!r} for fairness auditing with "
                "special-category data, or audit on data that allows it")
    return True, (f"audit {audit.id} on special-category data is covered for fairness "
                  "auditing"), ""


# --- frontline clients ------------------------------------------------------------------------

def client_problems(session: Session, models: Iterable[str], purposes: Iterable[str],
                    organisation_id: int | None = None) -> dict[str, list[str]]:
    """Why some model/purpose pair a client would be given cannot be served, field by field.

    A client may use each of its models for each of its purposes, so every pair must be
    servable: the model exists (in the client's organisation, when it has one) and scores
    individual cases, the purpose is the one the model
    is registered for, and every agreement under the model's latest version (the approved one
    if any, else the newest) grants it for use. A model with no version yet is accepted when
    the purpose matches: its agreements are checked at the gate and at every request.
    """
    problems: dict[str, list[str]] = {}
    wanted = list(dict.fromkeys(purposes))
    for name in dict.fromkeys(models):
        named = select(PredictiveModel).where(PredictiveModel.name == name)
        if organisation_id is not None:  # names are each organisation's own
            named = named.where(PredictiveModel.organisation_id == organisation_id)
        model = session.scalars(named).first()
        if model is None:
            problems.setdefault("models", []).append(f"no model named {name!r}")
            continue
        if model.purpose_class != "individual_case_work":
            problems.setdefault("models", []).append(
                f"{model.label} is registered for aggregate analysis, not for scoring "
                "individual cases")
            continue
        for purpose in wanted:
            refusal = purpose_refusal(model, purpose)
            if refusal:
                problems.setdefault("purposes", []).append(refusal)
    return problems


def purpose_refusal(model: PredictiveModel, purpose: str) -> str:
    """Why the model may not be used for the purpose now, or "" if it may."""
    if purpose != model.purpose:
        return f"{model.label} is registered for {model.purpose!r}, not {purpose!r}"
    version = latest_version(model)
    return "" if version is None else use_refusal(version)
