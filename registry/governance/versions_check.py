"""Gate requirements read from a version's self-check (run at upload by the serving layer)."""

from __future__ import annotations

from ..records import ModelVersion
from . import overlap
from .policy import Policy

ADDITIVITY_TOLERANCE = 1e-6


def artefact_status(v: ModelVersion) -> tuple[bool, str, str]:
    check = v.self_check or {}
    if not v.artefact_sha256:
        return False, "no artefact uploaded", "upload the model as a skops file"
    if check.get("sha256") != v.artefact_sha256:
        return (False, "the artefact has not been loaded and verified against its sha256",
                "run the version's self-check (POST .../self-check)")
    return True, f"skops artefact, sha256 {v.artefact_sha256[:12]}… verified on load", ""


def explanation_status(v: ModelVersion, policy: Policy) -> tuple[bool, str, str]:
    check = v.self_check or {}
    if check.get("error"):
        return False, f"the self-check failed: {check['error']}", "fix the model or its schema"
    used = {k: (check.get("background") or {}).get(k) for k in ("dataset_id", "rows", "seed")}
    if used != {k: (v.background or {}).get(k) for k in used}:
        return (False, "the explanation background has changed since the self-check",
                "run the version's self-check (POST .../self-check)")
    if not v.explainer:
        return (False, "no explanation method is available for this model",
                "use a tree ensemble or a linear model, and run the self-check")
    error = check.get("max_additivity_error", float("inf"))
    if error > ADDITIVITY_TOLERANCE:
        return (False, f"base value + contributions differ from the score by up to {error:.2g}",
                "check the explainer; contributions must add up to the score")
    latency = check.get("latency_ms_p50", float("inf"))
    if latency > policy.explanation_latency_ms:
        return (False, f"a one-row score with explanation takes {latency:.1f} ms (p50), over the "
                f"policy's budget of {policy.explanation_latency_ms:g} ms for frontline use",
                "use a smaller model (e.g. limit tree depth) so explanations stay fast")
    drawn = check["background"]
    return True, (f"{v.explainer} SHAP explanations, {latency:.1f} ms per row (p50), against "
                  f"{drawn['rows']} background rows of dataset {drawn['dataset_id']} "
                  f"(seed {drawn['seed']})"), ""


def evaluation_data_status(v: ModelVersion) -> tuple[bool, str, str]:
    """Whether the evaluation data has been compared with the training data as they are now;
    what the comparison found is a gap of its own (``evaluation_overlap``)."""
    found = v.evaluation_overlap or {}
    remedy = ("upload the data of every dataset and run the version's self-check "
              "(POST .../self-check)")
    if not found:
        return False, "the evaluation data has not been compared with the training data", remedy
    if found.get("error"):
        return False, f"the evaluation data could not be compared: {found['error']}", remedy
    if not overlap.is_current(v):
        return (False, "the datasets have changed since the evaluation data was compared with "
                "the training data", remedy)
    overlapping = sum(1 for p in found.get("pairs", []) if p.get("overlaps"))
    return True, ("evaluation data compared with the training data: "
                  + (f"{overlapping} pair(s) overlap" if overlapping else "kept apart")), ""
