"""Each person's inbox: what waits for them by the roles they hold in each record's organisation,
what to do and where; another organisation's items never appear. Reads of people's data
(downloads of a dataset) are on the ledger for auditors."""

from __future__ import annotations

from typing import Any

from flask import Flask

from registry.governance import registration, watch
from registry.governance.actors import OPERATOR
from registry.records import ModelVersion
from registry.usecases import people
from registry.usecases.unit import of_app

from . import builders as b
from .chain import build_chain, ok
from .conftest import Api
from .test_organisations import east, northmere_records, signed_by  # noqa: F401 - the fixture
from .test_watch import receipts

ADVISE = {"advice": "Proportionate; publish the screening note before use."}


def inbox(api: Api, who: str) -> list[dict[str, Any]]:
    body = ok(api.get("/api/v1/inbox", as_=who))
    assert body["total"] == len(body["items"])
    return body["items"]


def kinds(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(i["kind"], i["title"].split(":")[0]) for i in items]


def test_each_role_is_told_what_waits_for_it(api: Api) -> None:
    records = northmere_records(api)
    dpia, agreement = records["dpias"], records["agreements"]
    ok(api.post(f"/api/v1/dpias/{dpia}/submit"))
    ok(api.post(f"/api/v1/agreements/{agreement}/submit"))

    [first, *_] = dee = inbox(api, "dee")
    assert first["kind"] == "dpo_advice" and first["title"].startswith("DPIA-N:")
    assert first["todo"] == "Give your advice on this DPIA"
    assert first["link"] == f"/dpias/{dpia}#dpo-advice"
    assert first["subject_kind"] == "dpia" and first["subject_id"] == str(dpia)
    assert [i["kind"] for i in dee] == ["dpo_advice"]  # the DPO approves nothing here

    olivia = inbox(api, "olivia")
    assert ("decision", "DSA-N") in kinds(olivia)
    decision = next(i for i in olivia if i["title"].startswith("DSA-N"))
    assert decision["detail"] == "awaiting approval by governance_officer"
    assert decision["link"] == f"/agreements/{agreement}#decide"
    assert not any(i["kind"] == "dpo_advice" for i in olivia)
    assert inbox(api, "audrey") == [] and inbox(api, "sam") == []

    ok(api.post(f"/api/v1/dpias/{dpia}/dpo-advice", as_="dee", json=ADVISE))
    assert not any(i["kind"] == "dpo_advice" for i in inbox(api, "dee"))
    response = next(i for i in inbox(api, "olivia") if i["kind"] == "advice_response")
    assert response["title"].startswith("DPIA-N") and "overrule" in response["todo"]

    ok(api.post(f"/api/v1/agreements/{agreement}/decisions", as_="olivia", json={
        "decision": "request_changes", "rationale": "Name the statutory gateway's section."}),
        201)
    [changes] = inbox(api, "sam")
    assert changes["kind"] == "changes_requested" and changes["title"].startswith("DSA-N")
    assert changes["detail"] == "changes requested: Name the statutory gateway's section."
    assert "submit it again" in changes["todo"]
    assert inbox(api, "priya") == []  # another data scientist's records are not hers


def test_a_client_has_no_inbox(api: Api) -> None:
    chain = build_chain(api)
    assert chain.client_token
    code, body = api.get("/api/v1/inbox", as_="app")
    assert code == 403 and "read" in body["error"]["message"]


def test_another_organisations_items_never_appear(app: Flask, api: Api, east: int  # noqa: F811
                                                  ) -> None:
    user, api.tokens["edna"] = people.create_user(of_app(app, OPERATOR), {
        "email": "edna@eastbrook.gov.uk", "roles": ["dpo"], "organisation_id": east},
        password="edna-correct-horse")
    north = northmere_records(api)
    a = ok(api.post("/api/v1/agreements", as_="eli", json=b.agreement("DSA-E")), 201)
    d = ok(api.post("/api/v1/datasets", as_="eli", json=b.dataset(
        "east-data", agreement_ids=[a["id"]])), 201)
    ok(api.post("/api/v1/models", as_="eli", json=b.model("east-model")), 201)
    p = ok(api.post("/api/v1/dpias", as_="eli", json=b.dpia(
        "DPIA-E", dataset_ids=[d["id"]], model_names=["east-model"],
        **signed_by(api, "erin"))), 201)
    for who, url in (("sam", f"/api/v1/dpias/{north['dpias']}"),
                     ("sam", f"/api/v1/agreements/{north['agreements']}"),
                     ("eli", f"/api/v1/dpias/{p['id']}"), ("eli", f"/api/v1/agreements/{a['id']}")):
        ok(api.post(f"{url}/submit", as_=who))

    assert kinds(inbox(api, "dee")) == [("dpo_advice", "DPIA-N")]
    assert kinds(inbox(api, "edna")) == [("dpo_advice", "DPIA-E")]
    north_titles = {t for _, t in kinds(inbox(api, "olivia"))}
    east_titles = {t for _, t in kinds(inbox(api, "erin"))}
    assert "DSA-N" in north_titles and not north_titles & {"DSA-E", "DPIA-E"}
    assert "DSA-E" in east_titles and not east_titles & {"DSA-N", "DPIA-N"}
    # an officer in Eastbrook who only audits Northmere is asked to decide Eastbrook's alone
    dual = {t for _, t in kinds(inbox(api, "dual"))}
    assert "DSA-E" in dual and not dual & {"DSA-N", "DPIA-N"}


def test_alerts_and_what_falls_due(app: Flask, api: Api, east: int) -> None:  # noqa: F811
    chain = build_chain(api)
    services = app.extensions["gatehouse"]
    now = services.clock.now()
    with services.sessions() as session:
        version = registration.get(session, "model_version", (chain.model, chain.version))
        assert isinstance(version, ModelVersion)
        receipts(session, version, [now.replace(hour=2)])
        watch.run(session, services.policy, now)
        session.commit()
        [alert] = watch.open_alerts(session, version)
        alert_id, lease_end = alert.id, version.approved_until
    [item] = [i for i in inbox(api, "olivia") if i["kind"] == "alert"]
    assert item["ref"] == f"watch_alert:{alert_id}" and item["title"] == "credit-risk v1"
    assert item["link"] == "/models/credit-risk/versions/1#watch-alerts"
    assert "watch rule hours" in item["detail"] and "acknowledge" in item["todo"]
    assert not any(i["kind"] == "alert" for i in inbox(api, "sam"))  # officers acknowledge
    assert inbox(api, "erin") == []  # Eastbrook's officer: none of Northmere's
    ok(api.post(f"{chain.version_url}/alerts/{alert_id}/acknowledge", as_="gus",
                json={"rationale": "A night-shift test by the supplier; stopped."}))
    assert not any(i["kind"] == "alert" for i in inbox(api, "olivia"))

    assert not any(i["kind"] == "due" for i in inbox(api, "olivia"))
    days = (lease_end - now.date()).days - 10
    services.clock.advance(days=days)
    due = [i for i in inbox(api, "olivia") if i["kind"] == "due"]
    version_due = next(i for i in due if i["title"] == "credit-risk v1")
    assert version_due["detail"].endswith("(in 10 days)") and "approval on" in (
        version_due["detail"])
    assert version_due["when"] == str(lease_end)
    assert any(i["title"] == "credit-risk v1" for i in inbox(api, "sam"))  # its owner too
    assert inbox(api, "erin") == []


def test_a_download_is_on_the_ledger_for_auditors(app: Flask, api: Api,
                                                  east: int) -> None:  # noqa: F811
    chain = build_chain(api)
    url = f"/api/v1/datasets/{chain.dataset}/data"
    response = api.client.get(url, headers={"Authorization": f"Bearer {api.tokens['sam']}"})
    assert response.status_code == 200
    assert response.data == b.credit_csv(b.training_frame())
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    for who, refused in (("audrey", 403), ("dee", 403), ("eli", 404)):
        code, body = api.get(url, as_=who)
        assert code == refused, (who, body)
    listed = ok(api.get("/api/v1/ledger?action=download_data", as_="audrey"))
    [entry] = listed["items"]
    assert entry["subject_kind"] == "dataset" and entry["subject_id"] == str(chain.dataset)
    assert "sam" in entry["actor"].lower() and entry["change"]["bytes"] == len(response.data)
    assert ok(api.get("/api/v1/ledger?action=download_data", as_="ezra"))["total"] == 0


def test_reading_a_receipts_inputs_is_on_the_ledger(api: Api) -> None:
    chain = build_chain(api)
    from .chain import case

    result = ok(api.post(f"/api/v1/models/{chain.model}/score", as_="app", json={
        "purpose": "credit_risk_research", "features": case(1)}))
    receipt = result["receipt_id"] if "receipt_id" in result else result["results"][0][
        "receipt_id"]
    ok(api.get(f"/api/v1/receipts/{receipt}", as_="dee"))
    [entry] = ok(api.get("/api/v1/ledger?action=read_inputs", as_="audrey"))["items"]
    assert entry["subject_id"] == receipt and "dee" in entry["actor"].lower()


def test_a_failing_monitor_reaches_its_officers_and_owner(app: Flask, api: Api,
                                                          east: int) -> None:  # noqa: F811
    from .test_monitor_health import check_receipts, lose_reference, score

    chain = build_chain(api, action="alert")
    assert score(api, chain)[0] == 200
    lose_reference(app, chain)
    assert check_receipts(api, chain.version_url)["state"] == "failed"
    [item] = [i for i in inbox(api, "olivia") if i["kind"] == "monitor"]
    assert item["title"] == "credit-risk v1" and "is failing" in item["detail"]
    assert item["link"] == "/models/credit-risk/versions/1#drift-health"
    assert "run one" in item["todo"]
    assert any(i["kind"] == "monitor" for i in inbox(api, "sam"))  # who built it
    assert not any(i["kind"] == "monitor" for i in inbox(api, "priya"))
    assert inbox(api, "erin") == []


def test_a_dpia_review_falls_due_for_the_dpo_too(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    with app.extensions["gatehouse"].sessions() as session:
        review = registration.get(session, "dpia", chain.dpia).review_date
    app.extensions["gatehouse"].clock.advance(
        days=(review - app.extensions["gatehouse"].clock.now().date()).days - 3)
    due = [i for i in inbox(api, "dee") if i["kind"] == "due"]
    assert [i["subject_id"] for i in due] == [str(chain.dpia)]
    assert "DPIA review on" in due[0]["detail"] and due[0]["detail"].endswith("(in 3 days)")


def test_a_version_stopped_upstream_reaches_its_officers_and_owner(api: Api,
                                                                  east: int) -> None:  # noqa: F811
    """The agreement under a live model is suspended: the version still reads "approved" on its
    own page, yet it is not served. Its officers and owner are told what stopped it."""
    chain = build_chain(api)
    assert not any(i["kind"] == "stopped" for i in inbox(api, "olivia"))
    ok(api.post(f"/api/v1/agreements/{chain.agreement}/decisions", as_="gus",
                json={"decision": "suspend", "rationale": "The supplier's audit is overdue."}),
       201)
    [item] = [i for i in inbox(api, "olivia") if i["kind"] == "stopped"]
    assert item["title"] == "credit-risk v1"
    assert item["link"] == "/models/credit-risk/versions/1#checklist"
    assert "not usable" in item["detail"] and "DSA-credit-risk" in item["detail"], item
    assert any(i["kind"] == "stopped" for i in inbox(api, "sam"))  # who built it
    assert not any(i["kind"] == "stopped" for i in inbox(api, "priya"))
    assert not any(i["kind"] == "stopped" for i in inbox(api, "erin"))
    ok(api.post(f"/api/v1/agreements/{chain.agreement}/decisions", as_="olivia",
                json={"decision": "reinstate", "rationale": "Audit received."}), 201)
    assert not any(i["kind"] == "stopped" for i in inbox(api, "olivia"))
