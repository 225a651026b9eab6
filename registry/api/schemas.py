"""The API's own request schemas and its response schemas (the input the use cases share is in
`usecases.inputs`): the same classes validate and make the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..governance.inputs import MAX_SMALL_INT
from ..records.people import ORGANISATION_KINDS, ROLES
from ..usecases.inputs import (
    AgreementIn,
    DatasetIn,
    DpiaIn,
    Id,
    ModelIn,
    NonEmpty,
    RiskIn,
    Text,
    VersionIn,
)


class Page(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_SMALL_INT))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ListFilters(Page):
    state = Text(
        validate=validate.OneOf(
            [
                "draft",
                "submitted",
                "approved",
                "changes_requested",
                "rejected",
                "suspended",
                "retired",
            ]
        )
    )
    owner = Id()
    organisation = Id()


class GovernedOut(Schema):
    state = Text()
    organisation_id = fields.Integer()
    owner_id = fields.Integer()
    created_by_id = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    submitted_by_id = fields.Integer(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    approval_id = fields.Integer(allow_none=True)
    approved_until = fields.Date(allow_none=True)


# --- agreements -------------------------------------------------------------------------------


class AgreementOut(AgreementIn, GovernedOut):
    id = fields.Integer()
    # each party's side stopped by that party (POST /api/v1/agreements/<id>/sides/<side>)
    provider_suspended = fields.Boolean()
    recipient_suspended = fields.Boolean()


# --- datasets ---------------------------------------------------------------------------------


class DatasetOut(DatasetIn, GovernedOut):
    id = fields.Integer()
    data_format = Text(allow_none=True)
    row_count = fields.Integer(allow_none=True)
    content_hash = Text(allow_none=True)
    completeness = fields.Dict(allow_none=True)
    uploaded_at = fields.DateTime(allow_none=True)


class UploadIn(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


# --- DPIAs ------------------------------------------------------------------------------------


class RiskOut(RiskIn):
    level = Text(allow_none=True)
    residual_level = Text(allow_none=True)


class DpiaOut(DpiaIn, GovernedOut):
    id = fields.Integer()
    risks = fields.List(fields.Nested(RiskOut))
    dpo_advice = Text(allow_none=True)
    dpo_advice_by_id = fields.Integer(allow_none=True)
    dpo_advice_accepted = fields.Boolean(allow_none=True)
    dpo_response_reason = Text(allow_none=True)


# --- models and versions ----------------------------------------------------------------------


class ModelOut(ModelIn, GovernedOut):
    id = fields.Integer()
    risk_tier = fields.Integer()
    versions = fields.Function(lambda m: [v.number for v in m.versions],
                               metadata={"type": "array", "items": {"type": "integer"}})


class ArtefactIn(Schema):
    artefact = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class VersionMetadataIn(Schema):
    metadata = Text(required=True, metadata={"description": "VersionIn as a JSON string"})


class VersionOut(VersionIn, GovernedOut):
    id = fields.Integer()
    positive_label = fields.Raw(attribute="positive_label_typed", allow_none=True, metadata={
        "description": "typed as the label column is: an integer label gives an integer"})
    model = Text(attribute="model.name")
    number = fields.Integer()
    artefact_sha256 = Text(allow_none=True)
    artefact_size = fields.Integer(allow_none=True)
    explainer = Text(allow_none=True)
    self_check = fields.Dict(allow_none=True, metadata={
        "description": "the self-check's findings; `background` holds the rows drawn, a hash "
                       "of them and the explanation's base value"})
    evaluation_overlap = fields.Dict(allow_none=True, metadata={
        "description": "the evaluation data compared with the training data, pair by pair"})


# --- decisions, gates, ledger -----------------------------------------------------------------


class DecisionOut(Schema):
    id = fields.Integer()
    subject_kind = Text()
    subject_id = fields.Integer()
    decision = Text()
    from_state = Text()
    to_state = Text()
    actor_id = fields.Integer(allow_none=True)
    actor_role = Text(allow_none=True)
    rationale = Text()
    conditions = Text(allow_none=True)
    scope = fields.Dict(allow_none=True, metadata={
        "description": "what a decision on evidence concerns: the requirement, evidence and "
                       "items waived or acknowledged, or the proposal settled"})
    approved_until = fields.Date(allow_none=True)
    policy_name = Text()
    policy_version = Text()
    policy_hash = Text()
    evidence_hash = Text()
    created_at = fields.DateTime()


class Requirement(Schema):
    id = Text()
    met = fields.Boolean()
    detail = Text()
    remedy = Text()


class WaitingOn(Schema):
    """An upstream record to approve first: by id, or by name (and number) for models."""

    kind = Text()
    id = fields.Integer()
    name = Text()
    number = fields.Integer()
    label = Text()
    state = Text()
    action = Text()


class GateOut(Schema):
    ready = fields.Boolean()
    requirements = fields.List(fields.Nested(Requirement))
    waiting_on = fields.List(fields.Nested(WaitingOn))


class LedgerEntryOut(Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor = Text()
    action = Text()
    subject_kind = Text()
    subject_id = Text()
    change = fields.Dict()
    change_hash = Text()
    prev_hash = Text()
    entry_hash = Text()


class FindingOut(Schema):
    code = Text()  # e.g. tail_truncated, chain_recomputed, head_forged (governance/ledger_check)
    seq = fields.Integer(allow_none=True)
    message = Text()


class VerificationOut(Schema):
    ok = fields.Boolean()
    entries = fields.Integer()
    first_bad_seq = fields.Integer(allow_none=True)
    problem = Text(allow_none=True)
    findings = fields.List(fields.Nested(FindingOut))
    checkpoints = fields.Integer()  # signed checkpoints in the database
    walked_from = fields.Integer()  # the first entry walked (after the last good checkpoint)
    full = fields.Boolean()
    # score receipts no batch chains yet: no check covers them until the next checkpoint
    receipts_unchained = fields.Integer()


# --- people -----------------------------------------------------------------------------------


class OrganisationIn(Schema):
    slug = Text(validate=validate.Regexp(r"^[a-z0-9][a-z0-9_-]{1,79}$"),
                metadata={"description": "how commands name it; by default made from the name"})
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    kind = Text(load_default="council", validate=validate.OneOf(ORGANISATION_KINDS))


class OrganisationOut(OrganisationIn):
    id = fields.Integer()
    created_at = fields.DateTime()


class UserIn(Schema):
    email = fields.Email(required=True)
    name = Text(load_default="")
    organisation_id = Id(allow_none=True, load_default=None)
    organisation = Text(validate=validate.Length(min=1, max=80), load_only=True, metadata={
        "description": "the organisation's slug (or give organisation_id)"})
    roles = fields.List(Text(validate=validate.OneOf(ROLES)), required=True, validate=NonEmpty)


class UserOut(Schema):
    id = fields.Integer()
    email = Text()
    name = Text()
    organisation_id = fields.Integer(allow_none=True)
    roles = fields.List(Text())
    active = fields.Boolean()
    locked_at = fields.DateTime(allow_none=True, metadata={
        "description": "set when too many wrong passwords locked the account; an "
                       "administrator unlocks it (POST /api/v1/users/<id>/unlock)"})
    created_at = fields.DateTime()


class ClientIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    organisation_id = Id(allow_none=True, load_default=None)
    organisation = Text(validate=validate.Length(min=1, max=80), load_only=True, metadata={
        "description": "the organisation's slug (or give organisation_id)"})
    models = fields.List(Text(validate=NonEmpty), required=True, validate=NonEmpty)
    purposes = fields.List(Text(validate=NonEmpty), required=True, validate=NonEmpty)


class ClientOut(ClientIn):
    id = fields.Integer()
    active = fields.Boolean()
    created_at = fields.DateTime()


class Created(Schema):
    """A new credential: the token is shown here once and stored only as a hash."""

    id = fields.Integer()
    token = Text()
