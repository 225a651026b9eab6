"""Gate requirements read from a version's self-check (run at upload by the serving layer)."""

from __future__ import annotations

from ..records import ModelVersion
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
    return True, f"{v.explainer} SHAP explanations, {latency:.1f} ms per row (p50)", ""
