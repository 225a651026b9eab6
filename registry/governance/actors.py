"""Who is acting: a person, a frontline tool, or Gatehouse itself."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# (organisation id, roles held there); None for the organisation: roles held deployment-wide.
Memberships = tuple[tuple[int | None, frozenset[str]], ...]


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "client" | "system"
    id: int | None
    name: str
    # Every role held anywhere; `within` narrows them to one organisation's.
    roles: frozenset[str] = field(default_factory=frozenset)
    memberships: Memberships = ()
    organisation_id: int | None = None  # a client's organisation

    @property
    def ledger_name(self) -> str:
        return (
            f"system:{self.name}" if self.kind == "system" else f"{self.kind}:{self.id}:{self.name}"
        )

    @property
    def user_id(self) -> int | None:
        return self.id if self.kind == "user" else None

    @property
    def deployment_roles(self) -> frozenset[str]:
        """Roles held in every organisation: Gatehouse's own, or a deployment-wide membership."""
        if self.kind == "system":
            return self.roles
        return frozenset().union(*(r for org, r in self.memberships if org is None))

    def roles_in(self, organisation_id: int | None) -> frozenset[str]:
        own = frozenset().union(*(r for org, r in self.memberships
                                  if org is not None and org == organisation_id))
        return own | self.deployment_roles

    def organisations(self, roles: frozenset[str]) -> frozenset[int]:
        """The organisations where the actor holds one of `roles`."""
        if self.kind == "client":
            return frozenset({self.organisation_id} if self.organisation_id is not None else ())
        return frozenset(org for org, held in self.memberships
                         if org is not None and held & roles)

    def within(self, organisation_id: int | None) -> Actor:
        """The actor as it may act on a record of this organisation: with the roles it holds
        there (a system actor and a client keep theirs)."""
        if self.kind != "user":
            return self
        return replace(self, roles=self.roles_in(organisation_id))


SYSTEM = Actor("system", None, "gatehouse", frozenset({"system"}))
# Whoever runs the `gatehouse` command on the server: it administers, it does not approve.
OPERATOR = Actor("system", None, "operator", frozenset({"system", "admin"}))
