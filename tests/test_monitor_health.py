"""A drift monitor that cannot run, or has not run within its cadence, is not met: the gate says
why, serving stops after the policy's grace (alert or suspend alike), and a check that runs
restores it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from registry.governance import evidence, registration

from . import builders as b
from .chain import accept_proposal, build_chain, case, ok
from .conftest import Api

SCORE = {"purpose": "credit_risk_research"}


@pytest.fixture
def policy_dir(policy_dir: Path, tmp_path: Path) -> Path:
    """The session's policies plus `grace`: the test policy with a 6-hour grace."""
    folder = tmp_path / "policies"
    folder.mkdir()
    for path in policy_dir.glob("*.toml"):
        (folder / path.name).write_text(path.read_text())
    text = (policy_dir / "test.toml").read_text()
    text = text.replace('name = "test"', 'name = "grace"')
    text = text.replace("failing_grace_hours = 0", "failing_grace_hours = 6")
    (folder / "grace.toml").write_text(text)
    return folder


def lose_reference(app: Any, chain: Any) -> tuple[Path, bytes]:
    """The monitor's stored reference goes missing: no check of it can run."""
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        version = registration.get(session, "model_version", (chain.model, chain.version))
        monitor = evidence.in_force_monitor(session, version)
        assert monitor is not None
        path = services.store.path(monitor.reference_path)
    data = path.read_bytes()
    path.unlink()
    return path, data


def check_receipts(api: Api, url: str) -> dict[str, Any]:
    job = ok(api.post(f"{url}/drift-checks"), 202)
    return ok(api.get(f"/api/v1/jobs/{job['id']}"))


def post_batch(api: Api, url: str, frame: pd.DataFrame) -> dict[str, Any]:
    data = {"batch": (io.BytesIO(frame.to_csv(index=False).encode()), "batch.csv")}
    job = ok(api.post(f"{url}/drift-checks", data=data, content_type="multipart/form-data"), 202)
    return ok(api.get(f"/api/v1/jobs/{job['id']}"))


def unreadable() -> pd.DataFrame:
    """A batch evidently cannot compare: the loan amounts are words."""
    frame = b.credit_frame().sample(n=200, random_state=1).astype({"credit_amount": str})
    frame["credit_amount"] = "a lot"
    return frame


def fresh() -> pd.DataFrame:
    return b.credit_frame().sample(n=300, random_state=2)


def requirement(api: Api, url: str) -> dict[str, Any]:
    gate = ok(api.get(f"{url}/gate"))
    return next(r for r in gate["requirements"] if r["id"] == "drift_monitor")


def score(api: Api, chain: Any) -> tuple[int, Any]:
    return api.post(f"/api/v1/models/{chain.model}/score", as_="app",
                    json={**SCORE, "features": case(0)})


@pytest.mark.parametrize("action", ["suspend", "alert"])
def test_a_check_that_cannot_run_is_not_met_and_stops_serving(app: Any, api: Api,
                                                              action: str) -> None:
    """The issue's defect: every check failed, and the checklist still said "Met"."""
    chain = build_chain(api, action=action)
    assert score(api, chain)[0] == 200  # a receipt whose inputs are kept, to check
    path, data = lose_reference(app, chain)
    job = check_receipts(api, chain.version_url)
    assert job["state"] == "failed" and "reference" in job["error"]  # the job's own record

    check = ok(api.get(f"{chain.version_url}/drift-checks"))[-1]
    assert check["status"] == "failed" and "reference data" in check["error"]
    met = requirement(api, chain.version_url)
    assert met["met"] is False
    assert "the last check on 2026-11-02 could not run: " in met["detail"]
    assert "run one" in met["remedy"]
    status, body = score(api, chain)
    assert status == 409 and "could not run" in body["error"]["message"]
    assert ok(api.get(chain.version_url))["state"] == "approved"  # not suspended: unmet
    entries = ok(api.get("/api/v1/ledger?subject_kind=model_version&per_page=200",
                         as_="audrey"))["items"]
    assert [e for e in entries if e["action"] == "drift_check_failed"]

    # A check that runs restores it, with no one deciding anything.
    path.write_bytes(data)
    assert post_batch(api, chain.version_url, fresh())["state"] == "succeeded"
    assert requirement(api, chain.version_url)["met"] is True
    assert score(api, chain)[0] == 200


@pytest.mark.parametrize("policy_name", ["grace"])
def test_within_the_grace_it_reads_met_and_serves(app: Any, api: Api, clock: Any) -> None:
    chain = build_chain(api)
    assert score(api, chain)[0] == 200
    lose_reference(app, chain)
    assert check_receipts(api, chain.version_url)["state"] == "failed"
    met = requirement(api, chain.version_url)
    assert met["met"] is True and "could not run" in met["detail"]
    assert "counts as met until 2026-11-02 15:30 UTC" in met["detail"]
    assert score(api, chain)[0] == 200
    clock.advance(hours=5, minutes=59)
    assert score(api, chain)[0] == 200
    clock.advance(minutes=2)  # past the grace: no ledger entry needed for serving to see it
    status, body = score(api, chain)
    assert status == 409 and "could not run" in body["error"]["message"]
    assert requirement(api, chain.version_url)["met"] is False


def test_a_posted_batch_refused_as_invalid_leaves_the_monitor_as_it_was(api: Api) -> None:
    """A sender's mistake is theirs: whoever may post a batch cannot stop serving with one."""
    chain = build_chain(api)
    job = post_batch(api, chain.version_url, unreadable())
    assert job["state"] == "failed" and "credit_amount" in job["error"]
    assert ok(api.get(f"{chain.version_url}/drift-checks")) == []
    assert requirement(api, chain.version_url)["met"] is True
    assert score(api, chain)[0] == 200


def test_overdue_by_receipts_stops_serving_by_the_next_sweep(app: Any, api: Api, clock: Any
                                                              ) -> None:
    chain = build_chain(api)
    # The policy bounds how rarely a monitor may check.
    status, body = api.post(f"{chain.version_url}/drift-monitor",
                            json={"every_receipts": 10**9})
    assert status == 422 and "every_receipts" in body["error"]["details"]
    proposed = ok(api.post(f"{chain.version_url}/drift-monitor",
                           json={"every_receipts": 20}), 201)
    accept_proposal(api, chain.version_url, "drift_monitor", proposed["id"])
    clock.advance(minutes=1)
    url = f"/api/v1/models/{chain.model}/score"
    cases = [case(i) for i in range(0, 400, 10)]
    ok(api.post(url, as_="app", json={**SCORE, "instances": cases[:20]}))
    assert requirement(api, chain.version_url)["met"] is True  # due, not yet overdue
    ok(api.post(url, as_="app", json={**SCORE, "instances": cases[20:]}))
    met = requirement(api, chain.version_url)
    assert met["met"] is False and "is overdue: 40 cases were scored" in met["detail"]

    runner = app.test_cli_runner()
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0 and "\nOverdue: model " in "\n" + result.output, result.output
    status, body = score(api, chain)
    assert status == 409 and "overdue" in body["error"]["message"]
    entries = ok(api.get("/api/v1/ledger?subject_kind=model_version&per_page=200",
                         as_="audrey"))["items"]
    runner.invoke(args=["sweep"])  # once per spell
    again = ok(api.get("/api/v1/ledger?subject_kind=model_version&per_page=200",
                       as_="audrey"))["items"]
    overdue = [e for e in again if e["action"] == "drift_monitor_overdue"]
    assert len(overdue) == 1 and len(again) == len(entries)

    # `gatehouse monitors run` runs the check that is due, which ends the spell.
    result = runner.invoke(args=["monitors", "run"])
    assert "1 drift check(s) due" in result.output and "succeeded" in result.output
    assert requirement(api, chain.version_url)["met"] is True
    assert score(api, chain)[0] == 200


def test_overdue_by_days(app: Any, api: Api, clock: Any) -> None:
    chain = build_chain(api)
    proposed = ok(api.post(f"{chain.version_url}/drift-monitor",
                           json={"daily": True, "every_receipts": 10_000, "action": "alert"}),
                  201)
    accept_proposal(api, chain.version_url, "drift_monitor", proposed["id"])
    clock.advance(days=3)  # nothing scored: nothing is due, nothing overdue
    assert requirement(api, chain.version_url)["met"] is True
    url = f"/api/v1/models/{chain.model}/score"
    ok(api.post(url, as_="app", json={**SCORE, "instances": [case(i) for i in range(60)]}))
    clock.advance(hours=23, minutes=59)
    assert requirement(api, chain.version_url)["met"] is True
    assert score(api, chain)[0] == 200
    clock.advance(minutes=2)  # a day after the first unchecked case: serving sees it by itself
    status, body = score(api, chain)
    assert status == 409 and "not checked a day later" in body["error"]["message"]
    result = app.test_cli_runner().invoke(args=["monitors", "run"])
    assert "overdue: " in result.output and "succeeded" in result.output, result.output
    assert requirement(api, chain.version_url)["met"] is True
    assert score(api, chain)[0] == 200


def test_a_posted_batch_the_monitor_itself_cannot_check_marks_it_failing(app: Any,
                                                                          api: Api) -> None:
    chain = build_chain(api)
    lose_reference(app, chain)
    assert post_batch(api, chain.version_url, fresh())["state"] == "failed"
    assert ok(api.get(f"{chain.version_url}/drift-checks"))[-1]["status"] == "failed"
    assert requirement(api, chain.version_url)["met"] is False
