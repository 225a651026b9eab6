"""Request and response schemas: the same classes validate input and make the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..governance.inputs import MAX_SMALL_INT
from ..governance.samples import BACKGROUND_ROWS, BACKGROUND_SEED
from ..records.agreements import AGREEMENT_STAGES, LEGAL_BASES
from ..records.datasets import CLASSIFICATIONS, COLUMN_TYPES
from ..records.decisions import DECISIONS
from ..records.dpias import RISK_EFFECTS
from ..records.models import BUILDERS, DECISION_ROLES, PURPOSE_CLASSES, STAGES
from ..records.people import ORGANISATION_KINDS, ROLES

Text = fields.String
NonEmpty = validate.Length(min=1)
Slug = validate.Regexp(
    r"^[a-z0-9][a-z0-9_-]{1,79}$", error="use 2-80 lower-case letters, digits, - or _"
)
Scale = validate.Range(min=1, max=3)


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
    owner = fields.Integer()
    organisation = fields.Integer()


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


class Signatory(Schema):
    name = Text(required=True, validate=NonEmpty)
    role = Text(required=True, validate=NonEmpty)
    organisation = Text(required=True, validate=NonEmpty)


class AgreementIn(Schema):
    reference = Text(required=True, validate=validate.Length(min=1, max=60))
    title = Text(required=True, validate=validate.Length(min=1, max=300))
    provider = Text(required=True, validate=NonEmpty)
    recipient = Text(required=True, validate=NonEmpty)
    controllers = fields.List(Text(validate=NonEmpty), load_default=list)
    legal_basis = Text(required=True, validate=validate.OneOf(LEGAL_BASES))
    special_category = fields.Boolean(load_default=False)
    art9_condition = Text(allow_none=True, load_default=None)
    statutory_gateway = Text(load_default="")
    purposes = fields.List(Text(validate=NonEmpty), load_default=list)
    # each permitted purpose → the stages it is covered for (keys must be among `purposes`)
    stages = fields.Dict(
        keys=Text(validate=NonEmpty),
        values=fields.List(Text(validate=validate.OneOf(AGREEMENT_STAGES))),
        load_default=dict,
    )
    data_categories = fields.List(Text(validate=NonEmpty), load_default=list)
    start_date = fields.Date(allow_none=True, load_default=None)
    end_date = fields.Date(allow_none=True, load_default=None)
    review_date = fields.Date(allow_none=True, load_default=None)
    retention = Text(load_default="")
    signatories = fields.List(fields.Nested(Signatory), load_default=list)


class AgreementOut(AgreementIn, GovernedOut):
    id = fields.Integer()


# --- datasets ---------------------------------------------------------------------------------


class ColumnIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=120))
    type = Text(required=True, validate=validate.OneOf(COLUMN_TYPES))
    description = Text(load_default="")
    protected = fields.Boolean(load_default=False)
    proxy = fields.Boolean(load_default=False)
    identifier = fields.Boolean(load_default=False)
    suppressed = fields.Boolean(load_default=False)
    nullable = fields.Boolean(load_default=True)
    allowed = fields.List(Text(), allow_none=True, load_default=None)
    minimum = fields.Float(allow_none=True, load_default=None)
    maximum = fields.Float(allow_none=True, load_default=None)


class DatasetIn(Schema):
    name = Text(required=True, validate=Slug)
    title = Text(required=True, validate=validate.Length(min=1, max=300))
    description = Text(load_default="")
    data_owner = Text(load_default="")
    steward = Text(load_default="")
    classification = Text(required=True, validate=validate.OneOf(CLASSIFICATIONS))
    purpose = Text(required=True, validate=NonEmpty)
    label_column = Text(allow_none=True, load_default=None)
    no_protected_justification = Text(allow_none=True, load_default=None)
    columns = fields.List(fields.Nested(ColumnIn), load_default=list)
    agreement_ids = fields.List(fields.Integer(), load_default=list)


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


class RiskIn(Schema):
    description = Text(required=True, validate=NonEmpty)
    likelihood = fields.Integer(allow_none=True, load_default=None, validate=Scale)
    severity = fields.Integer(allow_none=True, load_default=None, validate=Scale)
    measure = Text(allow_none=True, load_default=None)
    effect = Text(allow_none=True, load_default=None, validate=validate.OneOf(RISK_EFFECTS))
    residual_likelihood = fields.Integer(allow_none=True, load_default=None, validate=Scale)
    residual_severity = fields.Integer(allow_none=True, load_default=None, validate=Scale)


class RiskOut(RiskIn):
    level = Text(allow_none=True)
    residual_level = Text(allow_none=True)


class DpiaIn(Schema):
    reference = Text(required=True, validate=validate.Length(min=1, max=60))
    title = Text(required=True, validate=validate.Length(min=1, max=300))
    need = Text(load_default="")
    processing = Text(load_default="")
    consultation = Text(load_default="")
    necessity = Text(load_default="")
    risks = fields.List(fields.Nested(RiskIn), load_default=list)
    measures_approved_by = Text(allow_none=True, load_default=None)
    residual_risk_approved_by = Text(allow_none=True, load_default=None)
    prior_consultation = Text(allow_none=True, load_default=None)
    review_date = fields.Date(allow_none=True, load_default=None)
    dataset_ids = fields.List(fields.Integer(), load_default=list)
    model_names = fields.List(Text(), load_default=list)


class DpiaOut(DpiaIn, GovernedOut):
    id = fields.Integer()
    risks = fields.List(fields.Nested(RiskOut))
    dpo_advice = Text(allow_none=True)
    dpo_advice_by_id = fields.Integer(allow_none=True)
    dpo_advice_accepted = fields.Boolean(allow_none=True)
    dpo_response_reason = Text(allow_none=True)


class DpoAdviceIn(Schema):
    advice = Text(required=True, validate=NonEmpty)


class AdviceResponseIn(Schema):
    accepted = fields.Boolean(required=True)
    reason = Text(required=True, validate=NonEmpty)


# --- models and versions ----------------------------------------------------------------------


class ModelIn(Schema):
    name = Text(required=True, validate=Slug)
    title = Text(required=True, validate=validate.Length(min=1, max=300))
    purpose = Text(required=True, validate=NonEmpty)
    purpose_description = Text(load_default="")
    purpose_class = Text(required=True, validate=validate.OneOf(PURPOSE_CLASSES))
    business_owner = Text(load_default="")
    technical_owner = Text(load_default="")
    maintenance_owner = Text(load_default="")
    builder = Text(load_default="in_house", validate=validate.OneOf(BUILDERS))
    supplier = Text(allow_none=True, load_default=None)
    code_owner = Text(load_default="")
    weights_owner = Text(load_default="")
    data_owner = Text(load_default="")
    exit_terms = Text(load_default="")
    decision_role = Text(load_default="advisory", validate=validate.OneOf(DECISION_ROLES))
    art22_basis = Text(allow_none=True, load_default=None)
    population = Text(load_default="")
    people_scored_per_year = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=0)
    )
    vulnerable_groups = fields.Boolean(load_default=False)
    benefit = Text(load_default="")
    benefit_measure = Text(load_default="")
    summary = Text(load_default="")


class ModelOut(ModelIn, GovernedOut):
    id = fields.Integer()
    risk_tier = fields.Integer()
    versions = fields.Function(lambda m: [v.number for v in m.versions],
                               metadata={"type": "array", "items": {"type": "integer"}})


class FeatureIn(Schema):
    name = Text(required=True, validate=NonEmpty)
    type = Text(required=True, validate=validate.OneOf(COLUMN_TYPES))
    description = Text(load_default="")
    allowed = fields.List(Text(), allow_none=True, load_default=None)
    minimum = fields.Float(allow_none=True, load_default=None)
    maximum = fields.Float(allow_none=True, load_default=None)


class BandIn(Schema):
    name = Text(required=True, validate=NonEmpty)
    below = fields.Float(required=True)


class BackgroundIn(Schema):
    dataset_id = fields.Integer(required=True, metadata={
        "description": "one of the version's training or evaluation datasets"})
    rows = fields.Integer(load_default=BACKGROUND_ROWS, validate=validate.Range(min=1, max=10000),
                          metadata={"description": f"rows drawn (default {BACKGROUND_ROWS}; all "
                                                   "if the dataset has no more)"})
    seed = fields.Integer(load_default=BACKGROUND_SEED, validate=validate.Range(min=0),
                          metadata={"description": f"the draw's seed (default {BACKGROUND_SEED})"})


class VersionIn(Schema):
    feature_schema = fields.List(fields.Nested(FeatureIn), load_default=list)
    training_dataset_ids = fields.List(fields.Integer(), load_default=list)
    evaluation_dataset_ids = fields.List(
        fields.Integer(), required=True, validate=validate.Length(min=1), metadata={
            "description": "the data the version is evaluated and audited on: never its "
                           "training data (an overlap beyond the policy's share needs an "
                           "officer's waiver)"})
    background = fields.Nested(BackgroundIn, required=True, metadata={
        "description": "the explanation background, chosen explicitly: SHAP values are "
                       "measured against the model's mean output over these rows, recorded on "
                       "the version and used by the self-check and by serving"})
    label_column = Text(allow_none=True, load_default=None)
    positive_label = Text(allow_none=True, load_default=None)
    threshold = fields.Float(load_default=0.5, validate=validate.Range(min=0, max=1))
    bands = fields.List(fields.Nested(BandIn), allow_none=True, load_default=None)
    metrics = fields.Dict(allow_none=True, load_default=None)
    summary = Text(load_default="")
    stage = Text(load_default="pilot", validate=validate.OneOf(STAGES))
    pilot_end_date = fields.Date(allow_none=True, load_default=None)
    pilot_case_cap = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=1)
    )


class ArtefactIn(Schema):
    artefact = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class VersionMetadataIn(Schema):
    metadata = Text(required=True, metadata={"description": "VersionIn as a JSON string"})


class VersionOut(VersionIn, GovernedOut):
    id = fields.Integer()
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


class DecisionIn(Schema):
    decision = Text(required=True, validate=validate.OneOf(DECISIONS))
    rationale = Text(required=True, validate=validate.Length(min=1))
    conditions = Text(allow_none=True, load_default=None)
    valid_until = fields.Date(allow_none=True, load_default=None)


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
    valid_until = fields.Date(allow_none=True)
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


# --- people -----------------------------------------------------------------------------------


class OrganisationIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    kind = Text(load_default="council", validate=validate.OneOf(ORGANISATION_KINDS))


class OrganisationOut(OrganisationIn):
    id = fields.Integer()
    created_at = fields.DateTime()


class UserIn(Schema):
    email = fields.Email(required=True)
    name = Text(load_default="")
    organisation_id = fields.Integer(allow_none=True, load_default=None)
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
    organisation_id = fields.Integer(allow_none=True, load_default=None)
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
