"""The words and the records as their users read them: labels typed as the data has them,
DPIA sign-offs by people who may sign, an approval refusal in a few lines, acronyms kept,
shortened hashes, the sweep in sentences, records with the same title told apart."""

from __future__ import annotations

from sqlalchemy import select

from registry.governance.gates import GateResult, Requirement
from registry.governance.order import SUMMARY_LINES, refusal_summary
from registry.governance.sweep import SweepReport, counted, sweep_messages
from registry.platform.words import sentence
from registry.records import (
    DPIA,
    Dataset,
    DatasetColumn,
    Membership,
    ModelVersion,
    PredictiveModel,
)
from registry.records.types import typed_label
from registry.web.dpia_page import step_status
from registry.web.present import short_hash

from . import builders as b
from .builders import OLIVIA_ID
from .conftest import Api


def test_a_positive_label_reads_as_its_column_is_typed() -> None:
    assert typed_label("1", "integer") == 1 and typed_label("good", "category") == "good"
    assert typed_label("True", "boolean") is True and typed_label("0.5", "number") == 0.5
    assert typed_label("x", "integer") == "x" and typed_label(None, "integer") is None
    data = Dataset(name="d", columns=[DatasetColumn(name="repaid", type="integer", position=0)])
    version = ModelVersion(label_column="repaid", positive_label="1", training_datasets=[data],
                           evaluation_datasets=[])
    assert version.positive_label_typed == 1


def test_acronyms_keep_their_capitals_and_hashes_are_shortened_with_the_full_value() -> None:
    assert sentence("hmo_licensing_enforcement") == "HMO licensing enforcement"
    assert sentence("dpia_review") == "DPIA review" and sentence("changes_requested") == (
        "Changes requested")
    full = "ab" * 32
    shown = str(short_hash(full))
    assert f'title="{full}"' in shown and ">abababababab…</code>" in shown


def test_the_sweep_reads_as_sentences() -> None:
    report = SweepReport(lapsed=['approval of agreement "DSA-1" passed on 2027-01-01'] * 2)
    lines = sweep_messages(report, [], ["hours: credit-risk v1 scored at 03:00"], 3, 1, [], 2)
    assert lines[0] == 'Lapsed: the approval of agreement "DSA-1" passed on 2027-01-01.'
    assert lines[2] == "Watch alert: hours: credit-risk v1 scored at 03:00."
    assert lines[-1] == ("Lapsed: 2 records; expiring within 30 days: no records; drift "
                         "monitors overdue: no monitors; watch alerts raised: 1 alert; score "
                         "inputs erased: 3 receipts; drift reports deleted: 1 report; jobs "
                         "queued again: no jobs; notifications sent or queued: 2 "
                         "notifications.")
    assert counted(1, "record") == "1 record"


def test_a_refusal_is_summarised_in_a_few_lines_however_many_are_unmet() -> None:
    gate = GateResult(requirements=[Requirement(f"r{i}", False, f"problem {i}", "fix it")
                                    for i in range(30)],
                      waiting_on=[{"kind": "agreement", "id": 4, "label": 'agreement "A"',
                                   "state": "submitted",
                                   "action": 'approve agreement "A" first: it awaits approval'}])
    model = PredictiveModel(name="m")
    lines = refusal_summary(gate, model)
    assert len(lines) == SUMMARY_LINES
    assert lines[0] == {"text": 'Approve agreement "A" first: it awaits approval',
                        "href": "/agreements/4"}
    assert lines[1] == {"text": "Problem 0: fix it", "href": "/models/m#req-r0"}
    assert lines[-1] == {"text": "and 27 more: see the checklist", "href": "/models/m#checklist"}


def test_a_dpia_is_signed_off_by_an_officer_or_dpo_of_its_organisation(app, api: Api) -> None:
    status, err = api.post("/api/v1/dpias", json=b.dpia(
        "DPIA-SIGN", measures_approved_by_id=1, residual_risk_approved_by_id=999))
    assert status == 422
    problems = err["error"]["details"]
    assert "is not a governance officer or DPO" in problems["measures_approved_by_id"][0]
    assert "no such user" in problems["residual_risk_approved_by_id"][0]
    status, err = api.post("/api/v1/dpias", json=b.dpia("DPIA-SIGN",
                                                        measures_approved_by="J. Ellis"))
    assert status == 422 and "measures_approved_by" in str(err)  # free text is gone
    created = api.post("/api/v1/dpias", json=b.dpia("DPIA-SIGN"))[1]
    assert created["measures_approved_by_id"] == OLIVIA_ID
    signoff = next(r for r in api.get(f"/api/v1/dpias/{created['id']}/gate")[1]["requirements"]
                   if r["id"] == "step_signoff")
    assert signoff["met"] and "Olivia" in signoff["detail"]
    # the signer loses the role: the step is no longer complete
    with app.extensions["gatehouse"].sessions() as session:
        membership = session.scalars(select(Membership).where(
            Membership.user_id == OLIVIA_ID)).one()
        membership.roles = ["auditor"]
        session.commit()
    signoff = next(r for r in api.get(f"/api/v1/dpias/{created['id']}/gate", as_="gus")[1][
        "requirements"] if r["id"] == "step_signoff")
    assert not signoff["met"] and "not a governance officer or DPO" in signoff["detail"]


def test_the_dpia_task_list_says_why_a_step_is_not_complete() -> None:
    dpia = DPIA(need="n", processing="p", consultation="c", necessity="x", risks=[],
                measures_approved_by_id=None, residual_risk_approved_by_id=None,
                review_date=None)
    gate = GateResult(requirements=[
        Requirement("step_need", True, "step 1: written"),
        Requirement("step_measures", True, "every risk has a measure"),
        Requirement("prior_consultation", False,
                    "high residual risk (risk [1]); prior consultation: not recorded",
                    "consult the ICO")])
    status = step_status(dpia, gate)
    assert status["need"]["tag"]["text"] == "Completed" and "why" not in status["need"]
    # the checklist's unmet requirement is the task list's reason, word for word
    assert status["measures"]["tag"]["text"] != "Completed"
    assert status["measures"]["why"] == (
        "Not complete: high residual risk (risk [1]); prior consultation: not recorded")
