"""Bearer tokens and passwords, checked in `governance/people` without HTTP, on a real database."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import update

from registry.governance import people
from registry.governance.actors import OPERATOR
from registry.governance.errors import Unauthenticated
from registry.records import ApiClient, User

from . import builders as b
from .conftest import Api


def test_each_token_authenticates_its_own_kind_of_actor_and_nothing_else(
        app: Flask, api: Api) -> None:
    assert api.post("/api/v1/models", json=b.model("case-model"))[0] == 201
    services = app.extensions["gatehouse"]
    now = services.clock.now()
    with services.sessions() as session:
        user, user_token = people.create_user(
            session, OPERATOR, {"email": "Ola@northmere.gov.uk", "roles": ["dpo", "auditor"]}, now)
        client, client_token = people.create_client(
            session, OPERATOR, {"name": "case-tool", "models": ["case-model"],
                                "purposes": ["credit_risk_research"]}, now)
        session.commit()

        actor = people.authenticate(session, user_token)
        assert (actor.kind, actor.id, actor.name) == ("user", user.id, "ola@northmere.gov.uk")
        assert actor.roles == frozenset({"dpo", "auditor"})
        actor = people.authenticate(session, client_token)
        assert (actor.kind, actor.id, actor.name) == ("client", client.id, "case-tool")

        # A token's prefix names its table: a client's secret under a user's prefix is unknown.
        swapped = "ghu_" + client_token.partition("_")[2]
        for bad in (swapped, client_token + "x", "not-a-token", "ghc_", user_token.upper()):
            with pytest.raises(Unauthenticated) as refused:
                people.authenticate(session, bad)
            assert refused.value.details == {"Authorization": ["unknown token"]}

        session.execute(update(User).values(active=False))
        session.execute(update(ApiClient).values(active=False))
        for token in (user_token, client_token):
            with pytest.raises(Unauthenticated):
                people.authenticate(session, token)


def test_an_unknown_email_costs_a_password_hash_like_a_known_one(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        people.create_user(session, OPERATOR, {"email": "kim@northmere.gov.uk", "roles": ["dpo"]},
                           services.clock.now(), password="kim-correct-horse")
        session.commit()
        hashed: list[str] = []
        real = people.check_password_hash
        monkeypatch.setattr(people, "check_password_hash",
                            lambda stored, given: hashed.append(given) or real(stored, given))
        assert people.check_password(session, "kim@northmere.gov.uk", "kim-correct-horse")
        assert people.check_password(session, "kim@northmere.gov.uk", "wrong") is None
        assert people.check_password(session, "nobody@northmere.gov.uk", "guess") is None
        assert hashed == ["kim-correct-horse", "wrong", "guess"]
