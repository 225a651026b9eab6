"""The demo council's name and its staff: who holds which role, and who registers every demo
record."""

from __future__ import annotations

COUNCIL = "Northmere Borough Council"
INSIGHT_TEAM = "Northmere Insight Team"
DEMO_PASSWORD = "northmere-demo-2026"  # the demo's only password: never use it for real data
STAFF = {
    "olivia.okafor": ("Olivia Okafor", ["governance_officer"]),
    "gus.hale": ("Gus Hale", ["governance_officer"]),
    "dee.marsh": ("Dee Marsh", ["dpo"]),
    "sam.patel": ("Sam Patel", ["data_scientist"]),
    "priya.shah": ("Priya Shah", ["data_scientist"]),
    "audrey.kent": ("Audrey Kent", ["auditor"]),
    "ada.lovell": ("Ada Lovell", ["admin"]),
}
REGISTRAR = "sam.patel"  # the data scientist who registers and submits every demo record
