"""Which roles may do what. Every entry point calls `require`, so views cannot bypass it."""

from __future__ import annotations

from .actors import Actor
from .errors import Forbidden

# action -> roles allowed to take it
RULES: dict[str, frozenset[str]] = {
    "read": frozenset({"data_scientist", "governance_officer", "dpo", "auditor", "admin"}),
    "register": frozenset({"data_scientist", "governance_officer", "dpo"}),
    "decide": frozenset({"governance_officer", "dpo"}),
    "dpo_advice": frozenset({"dpo"}),
    "respond_to_advice": frozenset({"governance_officer"}),
    "read_ledger": frozenset({"auditor", "governance_officer"}),
    "administer": frozenset({"admin"}),
    "audit": frozenset({"data_scientist", "governance_officer"}),
    "monitor": frozenset({"data_scientist", "governance_officer"}),
    "score": frozenset({"client"}),
    "read_receipt": frozenset({"client", "governance_officer", "dpo", "auditor"}),
    "record_outcome": frozenset({"client"}),
    "sweep": frozenset({"system", "governance_officer", "admin"}),
    # webhooks of an organisation (a frontline tool: for its own models)
    "webhooks": frozenset({"governance_officer", "admin", "client"}),
    # people's data leaves the register: those who work with it, each download on the ledger
    "download_data": frozenset({"data_scientist", "governance_officer"}),
}


def roles_of(actor: Actor) -> frozenset[str]:
    return frozenset({"client"}) if actor.kind == "client" else actor.roles


def allowed(actor: Actor, action: str) -> bool:
    return bool(roles_of(actor) & RULES[action])


def require(actor: Actor, action: str) -> None:
    if not allowed(actor, action):
        needed = ", ".join(sorted(RULES[action]))
        raise Forbidden(
            f"{actor.name} may not {action.replace('_', ' ')}: it needs one of the roles {needed}",
            {"action": action, "roles_needed": sorted(RULES[action])},
        )
