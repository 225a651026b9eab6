"""Red team: the public register calling a model "in use" while it may not be used."""

from __future__ import annotations

from typing import Any

from flask import Flask

from registry.governance import registration

from .chain import build_chain
from .conftest import Api


def record(app: Flask, name: str) -> dict[str, Any]:
    found = app.test_client().get("/transparency.json").get_json()["records"]
    return next(r for r in found if r["id"] == f"{r['metadata']['organisation_slug']}/{name}")


def test_a_version_whose_approval_lapsed_is_not_published_as_in_use(app: Flask,
                                                                    api: Api) -> None:
    """The version's approval ended yesterday; the sweep has not run, so it is still "approved"
    in the register's tables, but it is not served. The public must not read "in use"."""
    chain = build_chain(api)
    services = app.extensions["gatehouse"]
    assert record(app, chain.model)["metadata"]["paused"] is False
    version = record(app, chain.model)["tier_2"]["description_and_rationale"]["versions"][0]
    assert version["status"] == "in use"
    with services.sessions() as session:
        lease_end = registration.get(session, "model_version",
                                     (chain.model, chain.version)).approved_until
    services.clock.advance(days=(lease_end - services.clock.now().date()).days + 1)

    published = record(app, chain.model)
    assert published["metadata"]["paused"] is True, published["metadata"]
    version = published["tier_2"]["description_and_rationale"]["versions"][0]
    assert version["status"] == "paused", version
    client = app.test_client()
    assert "Use is paused" in client.get("/transparency").get_data(as_text=True)
    assert "Use of this tool is paused" in client.get(
        f"/transparency/{chain.model}").get_data(as_text=True)
    rows = client.get("/transparency.csv").get_data(as_text=True)
    assert f"{chain.model}," in rows and ",yes," in rows


def test_a_version_whose_agreement_ended_is_not_published_as_in_use(app: Flask,
                                                                     api: Api) -> None:
    """Everything it rests on must still hold: the agreement under its data was stopped by a
    party; nothing is served, so the register must not say it is in use."""
    chain = build_chain(api)
    services = app.extensions["gatehouse"]
    from registry.governance import parties
    from registry.governance.actors import SYSTEM

    with services.sessions() as session:
        agreement = registration.get(session, "agreement", chain.agreement)
        parties.set_side(session, SYSTEM, agreement, "recipient", True,
                         "Recipient stops receiving", services.policy, services.clock.now())
        session.commit()
    assert record(app, chain.model)["metadata"]["paused"] is True
