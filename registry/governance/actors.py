"""Who is acting: a person, a frontline tool, or Gatehouse itself."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "client" | "system"
    id: int | None
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def ledger_name(self) -> str:
        return (
            f"system:{self.name}" if self.kind == "system" else f"{self.kind}:{self.id}:{self.name}"
        )

    @property
    def user_id(self) -> int | None:
        return self.id if self.kind == "user" else None


SYSTEM = Actor("system", None, "gatehouse", frozenset({"system"}))
# Whoever runs the `gatehouse` command on the server: it administers, it does not approve.
OPERATOR = Actor("system", None, "operator", frozenset({"system", "admin"}))
