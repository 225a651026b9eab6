"""Red team: an inbox that says nothing is waiting while something is overdue."""

from __future__ import annotations

from typing import Any

from flask import Flask

from registry.governance import registration
from registry.governance.sweep import sweep

from .chain import build_chain, ok
from .conftest import Api


def inbox(api: Api, who: str) -> list[dict[str, Any]]:
    body = ok(api.get("/api/v1/inbox", as_=who))
    assert body["total"] == len(body["items"])
    return body["items"]


def test_a_lapsed_approval_stays_in_the_inbox_until_it_is_renewed(app: Flask, api: Api) -> None:
    """The version's approval ran out yesterday. It is no longer served (the lease is read at
    every request), but someone must renew or retire it: before the sweep (still "approved") and
    after it (suspended by the system, nobody yet reinstating), the officer's and the owner's
    inboxes must say so, not "nothing is waiting"."""
    chain = build_chain(api)
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        version = registration.get(session, "model_version", (chain.model, chain.version))
        lease_end = version.approved_until
    services.clock.advance(days=(lease_end - services.clock.now().date()).days + 1)

    def overdue(who: str) -> list[dict[str, Any]]:
        return [i for i in inbox(api, who) if i["kind"] == "overdue"
                and i["title"] == "credit-risk v1"]

    [item] = overdue("olivia")
    assert f"approval ended on {lease_end:%d %B %Y}" in item["detail"], item
    assert "1 day ago" in item["detail"] and "not usable" in item["detail"], item
    assert item["when"] == str(lease_end)
    assert overdue("sam")  # its owner too
    assert not overdue("priya")

    with services.sessions() as session:
        sweep(session, services.policy, services.clock.now())
        session.commit()
        assert registration.get(session, "model_version",
                                (chain.model, chain.version)).state == "suspended"
    assert overdue("olivia") and overdue("sam")


def test_a_dpia_past_its_review_is_waiting_for_the_dpo(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        review = registration.get(session, "dpia", chain.dpia).review_date
    services.clock.advance(days=(review - services.clock.now().date()).days + 3)
    items = [i for i in inbox(api, "dee") if i["kind"] == "overdue"]
    assert [i["subject_id"] for i in items] == [str(chain.dpia)], items
    assert "DPIA review ended on" in items[0]["detail"] and "3 days ago" in items[0]["detail"]
