"""Refusals raised by the domain, each carrying what the caller needs to put things right."""

from __future__ import annotations

from typing import Any


class GovernanceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else {}


class Invalid(GovernanceError):
    """Input that is well-formed but wrong: `details` maps each field to its problems."""

    status = 422
    code = "invalid"


class Unauthenticated(GovernanceError):
    status = 401
    code = "unauthenticated"


class Forbidden(GovernanceError):
    status = 403
    code = "forbidden"


class NotFound(GovernanceError):
    status = 404
    code = "not_found"


class Conflict(GovernanceError):
    """The record's state or an unmet gate forbids the request."""

    status = 409
    code = "conflict"


class TooLarge(GovernanceError):
    status = 413
    code = "too_large"


class TooManyRequests(GovernanceError):
    """Over a rate limit; ``retry_after`` is the whole seconds until another is let through."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, details: Any = None, retry_after: int = 60) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after


class Unavailable(GovernanceError):
    status = 503
    code = "unavailable"
