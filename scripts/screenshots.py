"""Screenshots of the web pages on demo data, for docs/screenshots/.

    .venv/bin/python scripts/screenshots.py [--data demo|seed] [--out docs/screenshots]

Builds a throw-away SQLite app, fills it, starts it on 127.0.0.1 and photographs the pages in
Debian's headless Chromium (never a downloaded browser).

--data demo (the default) loads the demo council of `gatehouse demo` (registry/demo/load.py:
real models fitted on synthetic council data, audits, drift checks, scores).
--data seed builds a smaller set from tests/web/seed.py: a model in pilot with scores and drift
checks, one awaiting approval, one suspended, an agreement about to expire, a DPIA half written
and a draft that the public never sees.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from registry.api import schemas as s  # noqa: E402
from registry.app import create_app  # noqa: E402
from registry.governance import lifecycle, people, registration  # noqa: E402
from registry.governance.actors import OPERATOR  # noqa: E402
from registry.platform.clock import FrozenClock  # noqa: E402
from registry.records import Base, DriftMonitor, ModelVersion, User  # noqa: E402
from tests import builders as b  # noqa: E402
from tests.conftest import PEOPLE  # noqa: E402
from tests.web import seed  # noqa: E402
from tests.web.live import LiveServer, chromium, chromium_missing  # noqa: E402

NAMES = {"sam": "Sam Okafor", "priya": "Priya Shah", "olivia": "Olivia Grant",
         "gus": "Gus Mensah", "dee": "Dee Lawson", "audrey": "Audrey Byrne", "ada": "Ada Cole"}


def demo_app(folder: Path):  # type: ignore[no-untyped-def]
    clock = FrozenClock(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(folder / "instance"),
                      "DATABASE_URL": f"sqlite:///{folder / 'demo.sqlite3'}",
                      "DATA_DIR": str(folder / "data"), "SECRET_KEY": "screenshots",
                      "JOB_WORKERS": 0}, clock=clock)
    services = app.extensions["gatehouse"]
    Base.metadata.create_all(services.engine)
    with services.sessions() as session:
        org = people.ensure_organisation(session, OPERATOR, "Northmere Borough Council",
                                         clock.now())
        for name, roles in PEOPLE.items():
            people.create_user(session, OPERATOR, {
                "email": f"{name}@northmere.gov.uk", "name": NAMES[name], "roles": roles,
                "organisation_id": org.id}, clock.now(), password=seed.PASSWORD.format(name))
        session.commit()

    seed.build(app, "hardship-loan-review", approve_version=True, receipts=240, drift_checks=8,
               title="Hardship loan repayment score",
               summary="Estimates how likely an applicant to the hardship loan scheme is to "
               "repay, so caseworkers can see which applications need a closer look. It never "
               "decides: a caseworker reads the application and decides.",
               people_scored_per_year=1200)
    seed.build(app, "early-help-triage", title="Early help referral triage",
               summary="Suggests which referrals to the children's services front door may "
               "need early help, with the case details that raised the score. Social workers "
               "decide on every referral.", vulnerable_groups=True)
    paused = seed.build(app, "rates-review", approve_version=True, receipts=60, drift_checks=5,
                        stage="production", title="Business rates review",
                        summary="Points inspection teams to properties that may be paying "
                        "the wrong business rates.")
    seed.draft_model(app, "sick-leave-forecast", title="Long-term sick leave forecast")
    services = app.extensions["gatehouse"]
    now = services.clock.now()
    with services.sessions() as session:
        olivia, sam = seed.person(session, "olivia"), seed.person(session, "sam")
        v = registration.get(session, "model_version", (paused.model, paused.version))
        assert isinstance(v, ModelVersion)
        monitor = session.scalars(select(DriftMonitor).where(
            DriftMonitor.model_version_id == v.id)).one()
        monitor.in_breach = True
        lifecycle.decide(session, olivia, v, services.policy, now, "suspend",
                         "Drift check of 26 October: 4 of 9 columns drifted (rateable value, "
                         "property type); suspended until the model is refitted.")
        # an agreement that ends within the month
        short = registration.create(session, sam, "agreement", s.AgreementIn().load(b.agreement(
            "DSA-2026-031", title="Fire service home-safety visits", provider="Northmere Fire "
            "and Rescue", start_date=str(now.date() - timedelta(days=300)),
            end_date=str(now.date() + timedelta(days=19)),
            review_date=str(now.date() + timedelta(days=5)),
            purposes=["service_planning"], signatories=[
                {"name": "K. Doyle", "role": "Area Manager", "organisation": "Northmere Fire and "
                 "Rescue"},
                {"name": "J. Ellis", "role": "SIRO", "organisation": "Northmere Borough Council"},
            ])), now)
        registration.submit(session, sam, short, now)
        lifecycle.decide(session, olivia, short, services.policy, now, "approve",
                         "Renewal to be negotiated before it ends.")
        # a DPIA part-way through its seven steps
        draft = registration.create(session, sam, "dpia", s.DpiaIn().load(b.dpia(
            "DPIA-2026-07", title="Early help referral triage: case notes",
            consultation="", necessity="", measures_approved_by_id=None,
            residual_risk_approved_by_id=None, review_date=None,
            risks=[{"description": "Families in some wards are scored higher because of where "
                                   "they live", "likelihood": 2, "severity": 3,
                    "measure": "Ward is excluded; bias audit by ward each quarter",
                    "effect": "reduced", "residual_likelihood": 1, "residual_severity": 3},
                   {"description": "Caseworkers follow the score without reading the case",
                    "likelihood": 2, "severity": 2}],
            model_names=["early-help-triage"])), now)
        session.commit()
        draft_id = draft.id
    return app, draft_id


def council_app(folder: Path):  # type: ignore[no-untyped-def]
    """The demo council of `gatehouse demo`, and the pages worth showing in it."""
    from registry.demo.load import DEMO_PASSWORD, load_demo
    from registry.records import DPIA, PredictiveModel

    clock = FrozenClock(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(folder / "instance"),
                      "DATABASE_URL": f"sqlite:///{folder / 'demo.sqlite3'}",
                      "DATA_DIR": str(folder / "data"), "SECRET_KEY": "screenshots",
                      "JOB_WORKERS": 0}, clock=clock)
    services = app.extensions["gatehouse"]
    Base.metadata.create_all(services.engine)
    with app.app_context(), services.sessions() as session:
        load_demo(session, services)
        session.commit()
        models = session.scalars(select(PredictiveModel).order_by(PredictiveModel.id)).all()
        # a DPIA part-way through its seven steps, as a data scientist leaves it overnight
        draft_for = next((m for m in models if m.state == "draft"), models[-1])
        sam = people.actor_for_user(session.scalars(select(User).where(
            User.email == "sam.patel@northmere.gov.uk")).one())
        draft = registration.create(session, sam, "dpia", s.DpiaIn().load(b.dpia(
            "DPIA-HL-05", title=f"{draft_for.title}: applicants' financial records",
            consultation="", necessity="", measures_approved_by_id=None,
            residual_risk_approved_by_id=None, review_date=None, model_names=[draft_for.name],
            risks=[{"description": "Applicants who are self-employed are scored lower because "
                                   "their income varies", "likelihood": 2, "severity": 3,
                    "measure": "Income volatility is not a feature; bias audit by employment "
                               "type", "effect": "reduced", "residual_likelihood": 1,
                    "residual_severity": 3},
                   {"description": "Caseworkers follow the score without reading the "
                                   "application", "likelihood": 2, "severity": 2}])),
            clock.now())
        session.commit()
        live = next(m for m in models if any(v.state == "approved" for v in m.versions))
        waiting = next((v for m in models for v in m.versions if v.state == "submitted"), None)
        dpias = session.scalars(select(DPIA).order_by(DPIA.id)).all()
        dpia = next((p for p in dpias if p.state != "approved"), dpias[0])
        officer, dpo = "olivia.okafor", "dee.marsh"
        shots = [
            (officer, "/dashboard", "dashboard.png"),
            (officer, f"/models/{live.name}", "model.png"),
            (dpo, f"/dpias/{dpia.id}", "dpia.png"),
            ("sam.patel", f"/dpias/{draft.id}/steps/risks", "dpia-step-risks.png"),
            (None, "/transparency", "register.png"),
            (None, f"/transparency/{live.name}", "register-entry.png"),
        ]
        if waiting is not None:
            shots.insert(3, (officer, f"/models/{waiting.model.name}/versions/{waiting.number}",
                             "review.png"))
    return app, shots, lambda who: DEMO_PASSWORD


def seed_app(folder: Path):  # type: ignore[no-untyped-def]
    app, draft_id = demo_app(folder)
    shots = [
        ("olivia", "/dashboard", "dashboard.png"),
        ("olivia", "/models/hardship-loan-review", "model.png"),
        ("sam", f"/dpias/{draft_id}", "dpia.png"),
        ("sam", f"/dpias/{draft_id}/steps/risks", "dpia-step-risks.png"),
        ("olivia", "/models/early-help-triage/versions/1", "review.png"),
        (None, "/transparency", "register.png"),
        (None, "/transparency/hardship-loan-review", "register-entry.png"),
    ]
    return app, shots, seed.PASSWORD.format


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("demo", "seed"), default="demo")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    reason = chromium_missing()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app, shots, password = (council_app if args.data == "demo" else seed_app)(Path(tmp))
        with LiveServer(app) as server, chromium() as browser:
            contexts = {}
            for who, path, filename in shots:
                if who not in contexts:
                    context = browser.new_context(viewport={"width": args.width, "height": 900})
                    if who:
                        page = context.new_page()
                        page.goto(f"{server.url}/sign-in")
                        page.fill("#email", f"{who}@northmere.gov.uk")
                        page.fill("#password", password(who))
                        page.click("button:has-text('Sign in')")
                        page.wait_for_url("**/dashboard")
                        page.close()
                    contexts[who] = context
                page = contexts[who].new_page()
                page.goto(server.url + path)
                page.screenshot(path=str(out / filename), full_page=True)
                page.close()
                print(f"{out / filename}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
