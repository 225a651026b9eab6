"""The bias audit requirement of a version's gate: the audit in force, judged as it stands today.

An audit satisfies the gate only if it was run on one of the version's evaluation datasets, on
every attribute that dataset flags as protected and on the intersections the policy asks for —
whoever ran it and whatever they asked for. Then it must have passed (or passed on every group
it assessed, the rest waived by an officer: see the ``small_groups`` gap), on the artefact and
at the threshold the version has, within the policy's validity.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from ..records import BiasAudit, Dataset, ModelVersion
from .evidence import in_force_audit
from .policy import Policy

SEP = " × "  # how the audit names an intersection, e.g. "sex × age"


def either(names: list[str]) -> str:
    """ "a", "a or b", "a, b or c", with underscores read as spaces."""
    words = [n.replace("_", " ") for n in names]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def coverage_problems(audit: BiasAudit, dataset: Dataset | None, version: ModelVersion,
                      policy: Policy) -> list[str]:
    """What the audit leaves out that it must assess, in the officer's words."""
    if dataset is None or dataset.id not in version.evaluation_dataset_ids:
        name = f'"{dataset.name}"' if dataset is not None else str(audit.dataset_id)
        return [f"audit {audit.id} was run on dataset {name}, which is not an evaluation "
                f"dataset of {version.label}"]
    problems = []
    protected = dataset.protected_attributes
    missing = [a for a in protected if a not in audit.sensitive_features]
    if missing:
        problems.append(f"audit {audit.id} did not assess {either(missing)}, which evaluation "
                        f'dataset "{dataset.name}" flags as protected')
    groupings = (audit.results or {}).get("groupings") or {}
    assessed = {frozenset(g.get("features") or name.split(SEP))
                for name, g in groupings.items() if isinstance(g, dict)}
    lacking = [SEP.join(c) for c in policy.required_intersections(protected)
               if frozenset(c) not in assessed]
    if lacking:
        problems.append(f"audit {audit.id} did not assess the intersection(s) the policy asks "
                        f"for: {', '.join(lacking)}")
    return problems


def data_changed(audit: BiasAudit, dataset: Dataset | None) -> str | None:
    """Why the audit no longer measures the dataset's data (None: it does): the audit keeps the
    sha256 of the rows it measured, and the dataset's data has been replaced or removed since."""
    if dataset is None or (dataset.content_hash and dataset.content_hash == audit.data_hash):
        return None
    now = (f"sha256 {dataset.content_hash[:12]}…" if dataset.content_hash
           else "no data uploaded")
    return (f"audit {audit.id} measured evaluation data (sha256 {audit.data_hash[:12]}…) that "
            f'has changed since: dataset "{dataset.name}" now holds {now}')


def other_outcome(audit: BiasAudit, dataset: Dataset | None, v: ModelVersion) -> str | None:
    """Why the audit measured another outcome than the version predicts (None: the same): its
    label column and positive class must be the version's, or its error rates are of a
    different prediction."""
    label = v.label_column or (dataset.label_column if dataset is not None else None)
    wrong_label = label is not None and audit.label_column != label
    wrong_class = v.positive_label is not None and str(audit.positive_label) != str(
        v.positive_label)
    if not (wrong_label or wrong_class):
        return None
    predicted = v.positive_label if v.positive_label is not None else audit.positive_label
    return (f"audit {audit.id} measured {audit.label_column} = {audit.positive_label!r} as the "
            f"positive outcome; {v.label} predicts {label or audit.label_column} = "
            f"{predicted!r}")


def status(session: Session, v: ModelVersion, policy: Policy, today: date
           ) -> tuple[bool, str, str]:
    """(met, detail, remedy) of the version's bias audit requirement."""
    audit = in_force_audit(session, v)
    if audit is None:
        return (False, "no bias audit has been run",
                "run a bias audit on an evaluation dataset (POST .../bias-audits)")
    dataset = session.get(Dataset, audit.dataset_id)
    problems = coverage_problems(audit, dataset, v, policy)
    if problems:
        return (False, "; ".join(problems),
                "run the audit again on an evaluation dataset of the version; it covers every "
                "protected attribute and the intersections the policy asks for")
    changed = data_changed(audit, dataset)
    if changed:
        return False, changed, "rerun the audit on the evaluation data as it is now"
    other = other_outcome(audit, dataset, v)
    if other:
        return False, other, "rerun the audit with the version's label column and positive label"
    expires = audit.created_at.date() + timedelta(days=policy.audit_validity_days)
    results = audit.results or {}
    # Passed on every group it assessed: the groups it could not assess are a gap of their own.
    passed = audit.verdict == "pass" or (audit.verdict == "insufficient_data"
                                         and results.get("assessed_verdict") == "pass")
    if not passed:
        return (False, f"audit {audit.id}: " + ("; ".join(audit.reasons) or audit.verdict),
                "fix the disparities or rerun the audit on current data, at the version's "
                "threshold")
    if today > expires:
        return False, f"audit {audit.id} expired on {expires}", "rerun the audit on current data"
    if audit.model_sha256 != v.artefact_sha256:
        return (False, f"audit {audit.id} was of a different artefact",
                "rerun the audit on this version's artefact")
    # An audit stands only for the decisions it measured: those at the version's threshold.
    if audit.threshold != v.threshold:
        return (False, f"audit {audit.id} measured decisions at a threshold of "
                f"{audit.threshold:g}; the version decides at {v.threshold:g}",
                "rerun the audit at the version's threshold")
    unassessed = "" if audit.verdict == "pass" else (
        "; some groups were too small to assess (see small groups)")
    return True, f"audit {audit.id} passed, valid until {expires}{unassessed}", ""
