"""The input of the use cases, field by field: the same classes validate the API's requests
(and make its OpenAPI document), the web's forms and the demo's records, so each accepts exactly
the same."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..governance.samples import BACKGROUND_ROWS, BACKGROUND_SEED
from ..records.agreements import AGREEMENT_STAGES, LEGAL_BASES
from ..records.datasets import CLASSIFICATIONS, COLUMN_TYPES
from ..records.decisions import DECISIONS
from ..records.dpias import RISK_EFFECTS
from ..records.models import BUILDERS, DECISION_ROLES, PURPOSE_CLASSES, STAGES

Text = fields.String
NonEmpty = validate.Length(min=1)
Slug = validate.Regexp(
    r"^[a-z0-9][a-z0-9_-]{1,79}$", error="use 2-80 lower-case letters, digits, - or _"
)
Scale = validate.Range(min=1, max=3)
# Numbers the database can hold: ids and counts are PostgreSQL's 32-bit integer. Larger ones
# are refused here, naming the field, rather than overflowing in the driver.
MAX_ID = MAX_COUNT = 2**31 - 1


class Label(fields.Field):
    """A label value as the data has it: text, an integer or true/false (kept as text; records
    give it back typed as the label column is)."""

    default_error_messages = {"invalid": "must be text, an integer or true/false"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int) or (isinstance(value, str) and value.strip()):
            return str(value).strip()
        raise self.make_error("invalid")


def Id(**kwargs: object) -> fields.Integer:
    """A record's id."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID, error="no record has this id"),
                          **kwargs)  # type: ignore[arg-type]


def Count(minimum: int = 0, **kwargs: object) -> fields.Integer:
    """A count of rows, people or cases."""
    return fields.Integer(validate=validate.Range(min=minimum, max=MAX_COUNT),
                          **kwargs)  # type: ignore[arg-type]


class Owned(Schema):
    """A record registered in one organisation: named when the person registers in several."""

    organisation_id = Id(metadata={"description": "the organisation the record belongs to "
                                   "(by default the only one where you register records)"})
    organisation = Text(validate=validate.Length(min=1, max=80), metadata={
        "description": "the slug of the organisation the record belongs to (e.g. northmere): "
                       "needed when you register records in several"})


# --- agreements ----------------------------------------------------------------------------------


class Signatory(Schema):
    name = Text(required=True, validate=NonEmpty)
    role = Text(required=True, validate=NonEmpty)
    organisation = Text(required=True, validate=NonEmpty)


class AgreementIn(Owned):
    reference = Text(required=True, validate=validate.Length(min=1, max=60))
    title = Text(required=True, validate=validate.Length(min=1, max=300))
    provider = Text(required=True, validate=NonEmpty)
    recipient = Text(required=True, validate=NonEmpty)
    # the parties that are organisations of this deployment (the recipient: by default the
    # organisation registering the agreement)
    provider_organisation_id = Id(allow_none=True)
    recipient_organisation_id = Id(allow_none=True)
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


# --- datasets ------------------------------------------------------------------------------------


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


class DatasetIn(Owned):
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
    agreement_ids = fields.List(Id(), load_default=list)


# --- DPIAs ---------------------------------------------------------------------------------------


class RiskIn(Schema):
    description = Text(required=True, validate=NonEmpty)
    likelihood = fields.Integer(allow_none=True, load_default=None, validate=Scale)
    severity = fields.Integer(allow_none=True, load_default=None, validate=Scale)
    measure = Text(allow_none=True, load_default=None)
    effect = Text(allow_none=True, load_default=None, validate=validate.OneOf(RISK_EFFECTS))
    residual_likelihood = fields.Integer(allow_none=True, load_default=None, validate=Scale)
    residual_severity = fields.Integer(allow_none=True, load_default=None, validate=Scale)


class DpiaIn(Owned):
    reference = Text(required=True, validate=validate.Length(min=1, max=60))
    title = Text(required=True, validate=validate.Length(min=1, max=300))
    need = Text(load_default="")
    processing = Text(load_default="")
    consultation = Text(load_default="")
    necessity = Text(load_default="")
    risks = fields.List(fields.Nested(RiskIn), load_default=list)
    measures_approved_by_id = Id(allow_none=True, load_default=None, metadata={
        "description": "the user id of the governance officer or DPO who approved the measures"})
    residual_risk_approved_by_id = Id(allow_none=True, load_default=None, metadata={
        "description": "the user id of the governance officer or DPO who accepted the residual "
        "risk"})
    prior_consultation = Text(allow_none=True, load_default=None)
    review_date = fields.Date(allow_none=True, load_default=None)
    dataset_ids = fields.List(Id(), load_default=list)
    model_names = fields.List(Text(), load_default=list)


class DpoAdviceIn(Schema):
    advice = Text(required=True, validate=NonEmpty)


class AdviceResponseIn(Schema):
    accepted = fields.Boolean(required=True)
    reason = Text(required=True, validate=NonEmpty)


# --- models and versions -------------------------------------------------------------------------


class ModelIn(Owned):
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
    people_scored_per_year = Count(allow_none=True, load_default=None)
    vulnerable_groups = fields.Boolean(load_default=False)
    benefit = Text(load_default="")
    benefit_measure = Text(load_default="")
    summary = Text(load_default="")
    outcome_vocabulary = fields.List(
        Text(validate=validate.Length(min=1, max=80)), allow_none=True, load_default=None,
        validate=validate.Length(min=2, max=20), metadata={
            "description": "the outcomes a caseworker may report on this model's scores; "
            "none: the policy's (accepted, overridden, no_action)"})


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
    dataset_id = Id(required=True, metadata={
        "description": "one of the version's training or evaluation datasets"})
    rows = fields.Integer(load_default=BACKGROUND_ROWS, validate=validate.Range(min=1, max=10000),
                          metadata={"description": f"rows drawn (default {BACKGROUND_ROWS}; all "
                                                   "if the dataset has no more)"})
    seed = fields.Integer(load_default=BACKGROUND_SEED,
                          validate=validate.Range(min=0, max=2**32 - 1),  # numpy's seeds
                          metadata={"description": f"the draw's seed (default {BACKGROUND_SEED})"})


class VersionIn(Schema):
    feature_schema = fields.List(fields.Nested(FeatureIn), load_default=list)
    training_dataset_ids = fields.List(Id(), load_default=list)
    evaluation_dataset_ids = fields.List(
        Id(), required=True, validate=validate.Length(min=1), metadata={
            "description": "the data the version is evaluated and audited on: never its "
                           "training data (an overlap beyond the policy's share needs an "
                           "officer's waiver)"})
    background = fields.Nested(BackgroundIn, required=True, metadata={
        "description": "the explanation background, chosen explicitly: SHAP values are "
                       "measured against the model's mean output over these rows, recorded on "
                       "the version and used by the self-check and by serving"})
    label_column = Text(allow_none=True, load_default=None)
    positive_label = Label(allow_none=True, load_default=None)
    threshold = fields.Float(load_default=0.5, validate=validate.Range(min=0, max=1))
    bands = fields.List(fields.Nested(BandIn), allow_none=True, load_default=None)
    metrics = fields.Dict(allow_none=True, load_default=None)
    summary = Text(load_default="")
    stage = Text(load_default="pilot", validate=validate.OneOf(STAGES))
    pilot_end_date = fields.Date(allow_none=True, load_default=None)
    pilot_case_cap = Count(1, allow_none=True, load_default=None)


# --- decisions -----------------------------------------------------------------------------------


class SideIn(Schema):
    """A party suspends its side of an agreement, or lifts its suspension."""

    suspended = fields.Boolean(required=True)
    rationale = Text(required=True, validate=validate.Length(min=1))


class DecisionIn(Schema):
    decision = Text(required=True, validate=validate.OneOf(DECISIONS))
    rationale = Text(required=True, validate=validate.Length(min=1))
    conditions = Text(allow_none=True, load_default=None)
    approved_until = fields.Date(allow_none=True, load_default=None)
