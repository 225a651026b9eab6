"""Names turned into words the way people write them: `hmo_licensing_enforcement` → "HMO
licensing enforcement" (acronyms keep their capitals, other words their case)."""

from __future__ import annotations

from typing import Any

CAPITALS = {w.casefold(): w for w in (
    "HMO", "HMOs", "DPIA", "DPIAs", "DPO", "ICO", "GDPR", "SEND", "NHS", "UK", "EU", "AI", "ASB",
    "AUC", "ROC", "F1", "SIRO", "API", "ID", "CSV", "PSI", "SHAP", "OIP", "NNDR", "UPRN", "VOA")}


def sentence(value: Any) -> str:
    """`changes_requested` → "Changes requested"; `council_tax_band` → "Council tax band";
    `hmo_licensing_enforcement` → "HMO licensing enforcement"."""
    if value is None:
        return ""
    words = [CAPITALS.get(w.casefold(), w) for w in str(value).replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]
