"""The roles a person may hold and the kinds of organisation: here, below the records, so that
the command line can offer them without loading the records."""

ROLES = ("data_scientist", "governance_officer", "dpo", "auditor", "admin")
ORGANISATION_KINDS = ("council", "agency", "police", "health", "supplier", "other")
