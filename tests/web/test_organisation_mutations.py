"""Every route that changes something (API and web), with a valid request: each of Eastbrook's
people is refused it on Northmere's records and nothing changes, then the same request by the
Northmere person whose work it is succeeds (2xx; a web form's redirect) — so the refusals are of
the organisation, not of a malformed probe. A route left out of the table fails the test."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from registry.governance import gaps, watch
from registry.records import BiasAudit, DriftMonitor, LedgerEntry, ModelVersion, User, WatchAlert

from .. import builders as b
from ..chain import build_chain, case, fitted, ok
from ..conftest import START, Api
from ..test_organisations import EASTBROOK, add_eastbrook
from ..test_watch import receipts, version_of
from .conftest import Browser
from .test_organisation_matrix import PUBLIC

PURPOSE = "credit_risk_research"
RATIONALE = "Checked against the evidence."


@dataclass
class Step:
    rule: str  # the route, as the app names it
    method: str
    url: str
    who: str  # the Northmere person whose request it is
    body: Callable[[], dict[str, Any]]  # the request's keyword arguments, made afresh each time
    before: Callable[[], None] | None = None  # what must exist first (done by Northmere)


def _json(data: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: {"json": data}


def _form(data: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: {"data": data}


def _mutating_rules(app: Flask) -> set[tuple[str, str]]:
    return {(m, r.rule) for r in app.url_map.iter_rules() for m in r.methods - {
        "GET", "HEAD", "OPTIONS"} if "<" in r.rule and not r.rule.startswith(PUBLIC)}


class World:
    """Northmere's served chain, drafts of each kind, and the people's clients."""

    def __init__(self, app: Flask, api: Api) -> None:
        self.app, self.api = app, api
        self.chain = build_chain(api)
        self.east = add_eastbrook(app, api)
        # and a frontline tool of Eastbrook's, for a model of its own
        ok(api.post("/api/v1/models", as_="eli", json=b.model("east-model")), 201)
        api.tokens["east-app"] = ok(api.post("/api/v1/clients", as_="eve", json={
            "name": "east-app", "models": ["east-model"], "purposes": [PURPOSE]}), 201)["token"]
        self.ids: dict[str, Any] = {}
        for key, path, body in (
                ("a2", "agreements", b.agreement("DSA-M2")),
                ("a4", "agreements", b.agreement("DSA-M4")),
                ("d3", "datasets", b.dataset("m-data3", agreement_ids=[self.chain.agreement])),
                ("d4", "datasets", b.dataset("m-data4", agreement_ids=[self.chain.agreement])),
                ("p2", "dpias", b.dpia("DPIA-M2", dataset_ids=[self.chain.dataset])),
                ("p3", "dpias", b.dpia("DPIA-M3", dataset_ids=[self.chain.dataset])),
                ("m2", "models", b.model("m-two")), ("m3", "models", b.model("m-three"))):
            made = ok(api.post(f"/api/v1/{path}", json=body), 201)
            self.ids[key] = made["name"] if path == "models" else made["id"]
            self.ids[f"{key}-purposes"] = made.get("purposes")
        for submitted in (f"datasets/{self.ids['d4']}", "models/m-three"):
            ok(api.post(f"/api/v1/{submitted}/submit"))
        scored = ok(api.post(f"/api/v1/models/{self.chain.model}/score", as_="app",
                             json={"purpose": PURPOSE, "features": case()}))
        self.ids["receipt"] = scored["results"][0]["receipt_id"]
        policy = app.extensions["gatehouse"].policy
        with self.sessions() as session:  # two night-time watch alerts, one for each form
            for day in (0, 1):
                night = START.replace(hour=2) + timedelta(days=day)
                receipts(session, version_of(session, self.chain), [night])
                watch.run(session, policy, START + timedelta(days=day))
            session.commit()
            self.ids["alerts"] = session.scalars(select(WatchAlert.id).where(
                WatchAlert.rule == "hours").order_by(WatchAlert.id)).all()
        assert len(self.ids["alerts"]) == 2, self.ids["alerts"]
        self.ids["webhook"] = ok(api.post("/api/v1/webhooks", as_="olivia", json={
            "url": "http://127.0.0.1:9/hook", "events": ["version.suspended"],
            "secret": "a-webhook-secret-of-32-characters"}), 201)["id"]
        with self.sessions() as session:  # Priya is locked out by wrong passwords
            priya = session.scalars(select(User).where(User.email.like("priya@%"))).one()
            priya.locked_at, self.ids["priya"] = app.extensions["gatehouse"].clock.now(), priya.id
            session.commit()
        self.browsers: dict[str, Browser] = {}

    def sessions(self) -> Any:
        return self.app.extensions["gatehouse"].sessions()

    def browser(self, name: str) -> Browser:
        if name not in self.browsers:
            domain = "eastbrook" if name in EASTBROOK else "northmere"
            web = Browser(self.app.test_client())
            response = web.post("/sign-in", {"email": f"{name}@{domain}.gov.uk",
                                             "password": f"{name}-correct-horse"})
            assert response.status_code == 302
            web._token = None
            self.browsers[name] = web
        return self.browsers[name]

    def call(self, step: Step, who: str) -> int:
        if step.url.startswith(("/api/", "/v2/")):
            return self.api.call(step.method, step.url, who, **step.body())[0]
        response = self.browser(who).post(step.url, step.body()["data"])
        if response.status_code == 302 and "/sign-in" in response.headers["Location"]:
            return 401
        return response.status_code

    def upload(self, number: int) -> Callable[[], dict[str, Any]]:
        """A new version of the chain's model whose evaluation data is its training data (a gap
        an officer may waive)."""
        def body() -> dict[str, Any]:
            metadata = {"training_dataset_ids": [self.chain.dataset],
                        "evaluation_dataset_ids": [self.chain.dataset],
                        "background": {"dataset_id": self.chain.dataset, "rows": 50},
                        "label_column": "credit", "positive_label": "good", "threshold": 0.5,
                        "summary": f"Version {number}."}
            return {"data": {"artefact": (io.BytesIO(fitted("gbm")[1]), "model.skops"),
                             "metadata": json.dumps(metadata)},
                    "content_type": "multipart/form-data"}
        return body

    def overlap(self, number: int) -> tuple[str, list[str]]:
        """The evidence and items of the version's outstanding overlap gap."""
        with self.sessions() as session:
            version = session.scalars(select(ModelVersion).where(
                ModelVersion.number == number, ModelVersion.organisation_id == 1)).one()
            gap = next(g for g in gaps.find(session, version, self.app.extensions[
                "gatehouse"].policy, "evaluation_overlap") if g.outstanding)
            return gap.evidence, list(gap.outstanding)

    def proposed(self, kind: type[Any]) -> int:
        with self.sessions() as session:
            return session.scalars(select(kind.id).where(kind.status == "proposed")).one()

    def steps(self) -> list[Step]:
        c, i, v = self.chain, self.ids, f"/api/v1/models/{self.chain.model}/versions"
        web_v = f"/models/{c.model}/versions"
        a2, a4, d3, d4, p2, p3 = (i[k] for k in ("a2", "a4", "d3", "d4", "p2", "p3"))
        decide = {"decision": "request_changes", "rationale": RATIONALE}
        oip = {"parameters": {"purpose": PURPOSE}, "inputs": [
            {"name": k, "datatype": "BYTES" if isinstance(x, str) else "INT64", "shape": [1],
             "data": [x]} for k, x in case(3).items()]}
        csv = b.credit_csv(b.training_frame().head(50))
        proposal: dict[str, int] = {}

        def propose(path: str, body: dict[str, Any], kind: type[Any]) -> Callable[[], None]:
            def run() -> None:
                ok(self.api.post(f"{v}/1/{path}", json=body), 201 if "monitor" in path else 202)
                proposal[kind.__name__] = self.proposed(kind)
            return run

        def waiver(number: int, web: bool) -> Callable[[], dict[str, Any]]:
            def body() -> dict[str, Any]:
                evidence, items = self.overlap(number)
                if web:
                    return {"data": {"requirement": "evaluation_overlap", "evidence": evidence,
                                     "items": items, "rationale": RATIONALE}}
                return {"json": {"requirement": "evaluation_overlap", "items": items,
                                 "rationale": RATIONALE}}
            return body

        api_a, api_d, api_p = (f"/api/v1/{k}/" for k in ("agreements", "datasets", "dpias"))
        R = "<int:record_id>"
        return [
            Step(f"/api/v1/agreements/{R}", "PATCH", f"{api_a}{a2}", "sam",
                 _json({"title": "Ours now"})),
            Step(f"/api/v1/agreements/{R}/submit", "POST", f"{api_a}{a2}/submit", "sam",
                 _json({})),
            Step(f"/api/v1/agreements/{R}/decisions", "POST", f"{api_a}{a2}/decisions",
                 "olivia", _json({"decision": "approve", "rationale": RATIONALE})),
            Step(f"/api/v1/agreements/{R}/sides/<side>", "POST",
                 f"{api_a}{a2}/sides/recipient", "olivia",
                 _json({"suspended": True, "rationale": RATIONALE})),
            Step(f"/agreements/{R}/sides/<side>", "POST", f"/agreements/{a2}/sides/recipient",
                 "olivia", _form({"suspended": "no", "side-rationale": RATIONALE})),
            Step(f"/agreements/{R}/decisions", "POST", f"/agreements/{a2}/decisions", "olivia",
                 _form({"decision": "suspend", "rationale": RATIONALE})),
            Step(f"/agreements/{R}/stages", "POST", f"/agreements/{a4}/stages", "sam",
                 _form({f"stages-{p}": "development" for p in i["a4-purposes"]})),
            Step(f"/api/v1/datasets/{R}", "PATCH", f"{api_d}{d3}", "sam",
                 _json({"title": "Ours now"})),
            Step(f"/api/v1/datasets/{R}/data", "PUT", f"{api_d}{d3}/data", "sam",
                 lambda: {"data": {"file": (io.BytesIO(csv), "data.csv")},
                          "content_type": "multipart/form-data"}),
            Step(f"/api/v1/datasets/{R}/submit", "POST", f"{api_d}{d3}/submit", "sam",
                 _json({})),
            Step(f"/api/v1/datasets/{R}/decisions", "POST", f"{api_d}{d3}/decisions", "olivia",
                 _json(decide)),
            Step(f"/datasets/{R}/decisions", "POST", f"/datasets/{d4}/decisions", "olivia",
                 _form(decide)),
            Step(f"/api/v1/dpias/{R}", "PATCH", f"{api_p}{p2}", "sam",
                 _json({"title": "Ours now"})),
            Step(f"/api/v1/dpias/{R}/dpo-advice", "POST", f"{api_p}{p2}/dpo-advice", "dee",
                 _json({"advice": "Proceed."})),
            Step(f"/api/v1/dpias/{R}/advice-response", "POST", f"{api_p}{p2}/advice-response",
                 "olivia", _json({"accepted": True, "reason": "Agreed."})),
            Step(f"/api/v1/dpias/{R}/submit", "POST", f"{api_p}{p2}/submit", "sam", _json({})),
            Step(f"/api/v1/dpias/{R}/decisions", "POST", f"{api_p}{p2}/decisions", "olivia",
                 _json(decide)),
            Step(f"/dpias/{R}/steps/<slug>", "POST", f"/dpias/{p3}/steps/need", "sam",
                 _form({"need": "Screening says a DPIA is needed.", "action": "continue"})),
            Step(f"/dpias/{R}/advice", "POST", f"/dpias/{p3}/advice", "dee",
                 _form({"advice": "Proceed."})),
            Step(f"/dpias/{R}/advice-response", "POST", f"/dpias/{p3}/advice-response",
                 "olivia", _form({"accepted": "yes", "reason": "Agreed."})),
            Step(f"/dpias/{R}/submit", "POST", f"/dpias/{p3}/submit", "sam", _form({})),
            Step(f"/dpias/{R}/decisions", "POST", f"/dpias/{p3}/decisions", "olivia",
                 _form(decide)),
            Step("/api/v1/models/<name>", "PATCH", "/api/v1/models/m-two", "sam",
                 _json({"title": "Ours now"})),
            Step("/api/v1/models/<name>/submit", "POST", "/api/v1/models/m-two/submit", "sam",
                 _json({})),
            Step("/api/v1/models/<name>/decisions", "POST", "/api/v1/models/m-two/decisions",
                 "olivia", _json(decide)),
            Step("/models/<name>/decisions", "POST", "/models/m-three/decisions", "olivia",
                 _form(decide)),
            Step("/api/v1/models/<name>/versions", "POST", v, "sam", self.upload(2)),
            Step("/api/v1/models/<name>/versions/<int:number>", "PATCH", f"{v}/2", "sam",
                 _json({"summary": "Ours now"})),
            Step("/api/v1/models/<name>/versions/<int:number>/self-check", "POST",
                 f"{v}/2/self-check", "sam", _json({})),
            Step("/api/v1/models/<name>/versions/<int:number>/bias-audits", "POST",
                 f"{v}/2/bias-audits", "sam", _json({"dataset_id": c.dataset})),
            Step("/api/v1/models/<name>/versions/<int:number>/drift-monitor", "POST",
                 f"{v}/2/drift-monitor", "sam", _json({"action": "alert"})),
            Step("/api/v1/models/<name>/versions/<int:number>/waivers", "POST",
                 f"{v}/2/waivers", "olivia", waiver(2, web=False)),
            Step("/models/<name>/versions/<int:number>/waivers", "POST",
                 f"{web_v}/3/waivers", "olivia", waiver(3, web=True),
                 before=lambda: ok(self.api.post(v, **self.upload(3)()), 201) and None),
            Step("/api/v1/models/<name>/versions/<int:number>/submit", "POST", f"{v}/2/submit",
                 "sam", _json({})),
            Step("/api/v1/models/<name>/versions/<int:number>/decisions", "POST",
                 f"{v}/2/decisions", "olivia", _json(decide)),
            Step("/api/v1/models/<name>/versions/<int:number>/proposals/<kind>/<int:evidence_id>",
                 "POST", "", "olivia", _json({"decision": "accept", "rationale": RATIONALE}),
                 before=propose("bias-audits", {"dataset_id": c.evaluation}, BiasAudit)),
            Step("/models/<name>/versions/<int:number>/proposals/<kind>/<int:evidence_id>",
                 "POST", "", "olivia", _form({"decision": "accept", "rationale": RATIONALE}),
                 before=propose("drift-monitor", {"action": "alert"}, DriftMonitor)),
            Step("/api/v1/models/<name>/score", "POST", f"/api/v1/models/{c.model}/score",
                 "app", _json({"purpose": PURPOSE, "features": case(1)})),
            Step("/v2/models/<name>/infer", "POST", f"/v2/models/{c.model}/infer", "app",
                 _json(oip)),
            Step("/v2/models/<name>/versions/<version>/infer", "POST",
                 f"/v2/models/{c.model}/versions/1/infer", "app", _json(oip)),
            Step("/api/v1/receipts/<receipt_id>/outcome", "POST",
                 f"/api/v1/receipts/{i['receipt']}/outcome", "app",
                 _json({"outcome": "accepted", "overrode": False})),
            Step("/api/v1/receipts/<receipt_id>/outcome/corrections", "POST",
                 f"/api/v1/receipts/{i['receipt']}/outcome/corrections", "app",
                 _json({"outcome": "overridden", "reason": "The caseworker knew more.",
                        "correction_reason": "Reported against the wrong case."})),
            Step("/api/v1/models/<name>/versions/<int:number>/alerts/<int:alert_id>/acknowledge",
                 "POST", f"{v}/1/alerts/{i['alerts'][0]}/acknowledge", "olivia",
                 _json({"rationale": RATIONALE})),
            Step("/models/<name>/versions/<int:number>/alerts/<int:alert_id>/acknowledge",
                 "POST", f"{web_v}/1/alerts/{i['alerts'][1]}/acknowledge", "olivia",
                 _form({"rationale": RATIONALE})),
            Step("/api/v1/webhooks/<int:webhook_id>/ping", "POST",
                 f"/api/v1/webhooks/{i['webhook']}/ping", "olivia", _json({})),
            Step("/api/v1/webhooks/<int:webhook_id>", "DELETE",
                 f"/api/v1/webhooks/{i['webhook']}", "olivia", lambda: {}),
            Step("/api/v1/models/<name>/versions/<int:number>/drift-checks", "POST",
                 f"{v}/1/drift-checks?limit=2", "sam", lambda: {}),
            Step("/models/<name>/versions/<int:number>/decisions", "POST",
                 f"{web_v}/1/decisions", "olivia",
                 _form({"decision": "suspend", "rationale": RATIONALE})),
            Step("/api/v1/users/<int:user_id>/unlock", "POST",
                 f"/api/v1/users/{i['priya']}/unlock", "ada", _json({})),
        ], proposal


def test_every_mutation_is_refused_outside_and_succeeds_inside(app: Flask, api: Api) -> None:
    world = World(app, api)
    steps, proposal = world.steps()
    assert {(s.method, s.rule) for s in steps} == _mutating_rules(app)  # none forgotten
    outside, inside = [], []
    for step in steps:
        if step.before is not None:
            step.before()
        if not step.url:  # a proposal's URL names the evidence proposed just now
            kind = "bias_audit" if "api" in step.rule else "drift_monitor"
            evidence = proposal["BiasAudit" if kind == "bias_audit" else "DriftMonitor"]
            base = "/api/v1/models" if step.rule.startswith("/api/") else "/models"
            step.url = f"{base}/{world.chain.model}/versions/1/proposals/{kind}/{evidence}"
        with world.sessions() as session:
            before = session.scalar(select(func.max(LedgerEntry.seq)))
        api_route = step.url.startswith(("/api/", "/v2/"))
        # dual is Northmere's auditor too; a tool signs in to no page
        for name in [n for n in EASTBROOK if n != "dual"] + (["east-app"] if api_route else []):
            status = world.call(step, name)
            if status < 400:
                outside.append((name, step.method, step.url, status))
        with world.sessions() as session:  # nothing of theirs reached Northmere's ledger
            written = session.scalars(select(LedgerEntry.organisation_id).where(
                LedgerEntry.seq > before)).all()  # (a refused tool's refusal is its own's)
            assert set(written) <= {world.east}, (step.url, written)
        status = world.call(step, step.who)
        if status not in (200, 201, 202, 204, 302):
            inside.append((step.who, step.method, step.url, status))
    assert outside == []
    assert inside == []
