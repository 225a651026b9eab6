"""The dashboard opens with "Waiting for you": the demo council's DPO sees the DPIA awaiting her
advice first; an officer acknowledges a watch alert from the version page."""

from __future__ import annotations

import re
from html import unescape

from flask import Flask

from registry.demo import credit
from registry.demo.council import DEMO_PASSWORD, Demo
from registry.governance import watch

from ..chain import ok
from ..conftest import Api
from ..test_watch import receipts
from . import seed
from .conftest import Browser


def demo_dpia(app: Flask) -> None:
    """The demo's staff and its hardship loan research, whose DPIA awaits the DPO's advice (no
    model is fitted for it)."""
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        d = Demo(session, services)
        d.staff()
        credit.load(d)
        session.commit()


def sign_in(app: Flask, handle: str) -> Browser:
    b = Browser(app.test_client())
    response = b.post("/sign-in", {"email": f"{handle}@northmere.gov.uk",
                                   "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    b._token = None
    return b


def waiting(page: str) -> list[str]:
    """The items of "Waiting for you", as text."""
    section = page.split('id="waiting"', 1)[1].split("</ul>", 1)[0]
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", li)).split()).replace(" :", ":")
            for li in re.findall(r"<li[^>]*>(.*?)</li>", section, re.S)]


def test_the_demo_dpo_sees_the_dpia_awaiting_her_advice_first(app: Flask) -> None:
    demo_dpia(app)
    page = sign_in(app, "dee.marsh").get("/dashboard").get_data(as_text=True)
    headings = re.findall(r'<h2 class="govuk-heading-l" id="([^"]+)"', page)
    assert headings[0] == "waiting"  # at the top of her dashboard
    first, *_ = waiting(page)
    assert first.startswith("Give your advice on this DPIA: DPIA DPIA-CR-04: Hardship loan "
                            "research"), first
    assert "waiting for the DPO's advice" in first
    assert re.search(r'<a class="govuk-link[^"]*" href="/dpias/\d+#dpo-advice">Give your advice',
                     page)
    officer = sign_in(app, "olivia.okafor").get("/dashboard").get_data(as_text=True)
    assert not any(i.startswith("Give your advice") for i in waiting(officer))


def test_an_officer_acknowledges_a_watch_alert_on_the_version_page(app: Flask, api: Api,
                                                                   browser) -> None:  # type: ignore[no-untyped-def]
    chain = seed.build(app, approve_version=True)
    services = app.extensions["gatehouse"]
    now = services.clock.now()
    with services.sessions() as session:
        version = seed.version_of(session, chain.model)
        receipts(session, version, [now.replace(hour=3, minute=40)])
        watch.run(session, services.policy, now)
        session.commit()
        [alert] = watch.open_alerts(session, version)
        alert_id = alert.id
    url = f"/models/{chain.model}/versions/1"
    olivia = browser("olivia")
    dashboard = olivia.get("/dashboard").get_data(as_text=True)
    assert any("watch rule hours" in i for i in waiting(dashboard))
    page = olivia.get(url).get_data(as_text=True)
    assert 'id="watch-alerts"' in page and "03:40" in page
    assert f"Acknowledge alert {alert_id}" in page
    sam_page = browser("sam").get(url).get_data(as_text=True)
    assert "watch rule hours" in sam_page and f"Acknowledge alert {alert_id}" not in sam_page
    action = f"{url}/alerts/{alert_id}/acknowledge"
    empty = olivia.post(action, {"rationale": " "}, token_from=url)
    assert empty.status_code == 422 and "Enter what you found" in empty.get_data(as_text=True)
    done = olivia.post(action, {"rationale": "A supplier's night test; told them to stop."},
                       token_from=url)
    assert done.status_code == 302 and done.headers["Location"].endswith("#watch-alerts")
    page = olivia.get(url).get_data(as_text=True)
    assert f"Acknowledge alert {alert_id}" not in page and "told them to stop" in page
    dashboard = olivia.get("/dashboard").get_data(as_text=True)
    assert not any("watch rule hours" in i for i in waiting(dashboard))


def test_a_download_from_the_dataset_page_is_on_the_ledger(app: Flask, api: Api,
                                                           browser) -> None:  # type: ignore[no-untyped-def]
    chain = seed.build(app)
    url = f"/datasets/{chain.dataset_id}"
    sam = browser("sam")
    assert f'href="{url}/data" download' in sam.get(url).get_data(as_text=True)
    got = sam.get(f"{url}/data")
    assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store"
    auditor = browser("audrey")
    assert f'{url}/data"' not in auditor.get(url).get_data(as_text=True)
    assert auditor.get(f"{url}/data").status_code == 403
    ledger = ok(api.get("/api/v1/ledger?action=download_data", as_="audrey"))["items"]
    assert [(e["subject_id"], e["change"]["bytes"]) for e in ledger] == [
        (str(chain.dataset_id), len(got.data))]
