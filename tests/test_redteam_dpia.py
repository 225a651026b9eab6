"""Red team: a DPIA whose DPO advice and its answer read done while no independent DPO advised,
or the advice was on another text."""

from __future__ import annotations

from typing import Any

from . import builders as b
from .chain import ok
from .conftest import Api


def requirements(api: Api, url: str) -> dict[str, Any]:
    return {r["id"]: r for r in ok(api.get(f"{url}/gate"))["requirements"]}


def person(api: Api, name: str, roles: list[str]) -> None:
    made = ok(api.post("/api/v1/users", as_="ada", json={
        "email": f"{name}@northmere.gov.uk", "name": name.title(), "roles": roles,
        "organisation_id": 1}), 201)
    api.tokens[name] = made["token"]


def new_dpia(api: Api, as_: str = "sam", **over: Any) -> str:
    p = ok(api.post("/api/v1/dpias", as_=as_, json=b.dpia("DPIA-RT", **over)), 201)
    return f"/api/v1/dpias/{p['id']}"


ADVICE = {"advice": "Do not proceed until the residents' panel has seen the measures."}
ANSWER = {"accepted": False, "reason": "The panel meets too rarely; proceeding."}


def test_the_dpo_who_advised_cannot_also_overrule_their_own_advice(api: Api) -> None:
    """Someone who is both DPO and governance officer gives advice and then, as officer,
    overrules it: the gate would read "advice overruled" with nobody independent in the loop."""
    person(api, "duo", ["governance_officer", "dpo"])
    url = new_dpia(api)
    ok(api.post(f"{url}/dpo-advice", as_="duo", json=ADVICE))
    status, body = api.post(f"{url}/advice-response", as_="duo", json=ANSWER)
    assert status == 403, body
    assert "gave the advice" in body["error"]["message"], body
    assert requirements(api, url)["dpo_response"]["met"] is False
    # another officer answers it
    ok(api.post(f"{url}/advice-response", as_="olivia", json=ANSWER))
    assert requirements(api, url)["dpo_response"]["met"] is True


def test_a_dpo_does_not_advise_on_a_dpia_they_wrote(api: Api) -> None:
    """A DPO may register records; the DPO's advice on a DPIA they wrote is no independent
    advice (GDPR Art. 38(6): no conflict of interest)."""
    url = new_dpia(api, as_="dee")
    status, body = api.post(f"{url}/dpo-advice", as_="dee", json=ADVICE)
    assert status == 403, body
    assert "wrote" in body["error"]["message"] or "built" in body["error"]["message"], body
    assert requirements(api, url)["dpo_advice"]["met"] is False


def test_changing_the_assessment_after_the_advice_asks_for_it_again(api: Api) -> None:
    """The DPO advised and the officer accepted; then the author rewrites the risks (the one
    high risk gone). The advice was on another text: it no longer reads given and accepted."""
    url = new_dpia(api)
    ok(api.post(f"{url}/dpo-advice", as_="dee", json=ADVICE))
    ok(api.post(f"{url}/advice-response", as_="olivia",
                json={"accepted": True, "reason": "Agreed."}))
    gate = requirements(api, url)
    assert gate["dpo_advice"]["met"] and gate["dpo_response"]["met"]

    # an edit that changes nothing of the assessment keeps the advice
    ok(api.patch(url, json={"review_date": b.date_str(150)}))
    gate = requirements(api, url)
    assert gate["dpo_advice"]["met"] and gate["dpo_response"]["met"]
    same = b.dpia()["risks"]
    ok(api.patch(url, json={"risks": same, "need": b.dpia()["need"]}))
    assert requirements(api, url)["dpo_response"]["met"] is True

    lighter = [{**same[0], "severity": 1, "residual_severity": 1}]
    ok(api.patch(url, json={"risks": lighter}))
    gate = requirements(api, url)
    assert gate["dpo_advice"]["met"] is False, gate["dpo_advice"]
    assert gate["dpo_response"]["met"] is False
    record = ok(api.get(url))
    assert record["dpo_advice"] is None and record["dpo_advice_accepted"] is None
    # the advice given is kept on the ledger
    entries = ok(api.get("/api/v1/ledger?action=dpo_advice", as_="audrey"))
    items = entries["items"] if isinstance(entries, dict) else entries
    assert any(e["change"].get("advice") == ADVICE["advice"] for e in items), items


def test_the_author_does_not_sign_off_their_own_assessment(app, api: Api) -> None:
    """An officer (or DPO) may register a DPIA; naming themselves as the one who approved its
    measures and accepted its residual risk (ICO step 7) is no sign-off at all."""
    olivia = ok(api.get("/api/v1/me", as_="olivia"))["id"]
    status, body = api.post("/api/v1/dpias", as_="olivia", json=b.dpia("DPIA-SELF"))
    assert status == 422, body
    for field in ("measures_approved_by_id", "residual_risk_approved_by_id"):
        assert "cannot sign off its own assessment" in body["error"]["details"][field][0], body
    # the signers are someone else: accepted
    gus = ok(api.get("/api/v1/me", as_="gus"))["id"]
    made = ok(api.post("/api/v1/dpias", as_="olivia", json=b.dpia(
        "DPIA-SELF", measures_approved_by_id=gus, residual_risk_approved_by_id=gus)), 201)
    url = f"/api/v1/dpias/{made['id']}"
    status, body = api.patch(url, as_="olivia", json={"measures_approved_by_id": olivia})
    assert status == 422 and "measures_approved_by_id" in body["error"]["details"], body
    # a sign-off stored before the rule reads unmet on the gate
    from registry.records import DPIA

    with app.extensions["gatehouse"].sessions() as session:
        session.get(DPIA, made["id"]).residual_risk_approved_by_id = olivia
        session.commit()
    signoff = requirements(api, url)["step_signoff"]
    assert signoff["met"] is False and "own assessment" in signoff["detail"], signoff


def test_the_inbox_asks_nobody_for_what_they_may_not_do(api: Api) -> None:
    person(api, "duo", ["governance_officer", "dpo"])
    url = new_dpia(api)
    ok(api.post(f"{url}/dpo-advice", as_="duo", json=ADVICE))

    def asked(who: str) -> set[str]:
        return {i["kind"] for i in ok(api.get("/api/v1/inbox", as_=who))["items"]
                if i["link"].startswith(f"/dpias/{url.rsplit('/', 1)[1]}")}

    assert "advice_response" not in asked("duo")  # gave the advice
    assert "advice_response" in asked("olivia")


def test_the_dpo_who_advised_does_not_approve_the_assessment(api: Api) -> None:
    """Someone both DPO and governance officer advises on a DPIA, another officer accepts the
    advice, and the adviser then approves the DPIA as officer: the advice would have decided."""
    person(api, "duo", ["governance_officer", "dpo"])
    url = new_dpia(api)
    ok(api.post(f"{url}/dpo-advice", as_="duo", json=ADVICE))
    ok(api.post(f"{url}/advice-response", as_="olivia", json=ANSWER))
    ok(api.post(f"{url}/submit"))
    status, body = api.post(f"{url}/decisions", as_="duo",
                            json={"decision": "approve", "rationale": "Checked"})
    assert status == 403, body
    assert "gave the DPO's advice" in body["error"]["message"], body
    assert ok(api.get(url))["state"] == "submitted"
    assert "decision" not in {i["kind"] for i in ok(api.get("/api/v1/inbox", as_="duo"))["items"]
                             if i["link"].startswith(f"/dpias/{url.rsplit('/', 1)[1]}")}
    assert "decision" in {i["kind"] for i in ok(api.get("/api/v1/inbox", as_="gus"))["items"]}
    b.approve(api, url, "gus")
    assert ok(api.get(url))["state"] == "approved"
