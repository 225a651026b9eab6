"""What makes a password acceptable: long enough, and not one people commonly choose.

The NCSC's advice, not composition rules: a minimum length and a deny-list of common passwords
(the 30,000 most common, as the well-kept zxcvbn package lists them), checked also with the
digits and symbols people pad a common word with ("Password1234!") taken off.
"""

from __future__ import annotations

import functools
import re

from .errors import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 1000  # hashing a megabyte is a denial of service, not a password
_PADDING = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # 30,000 entries: loaded when first used

    return frozenset(FREQUENCY_LISTS["passwords"])


def problems(password: str, email: str = "") -> list[str]:
    """What is wrong with the password, in words a person can act on; [] if nothing."""
    if len(password) < MIN_LENGTH:
        return [f"use at least {MIN_LENGTH} characters (three random words work well)"]
    if len(password) > MAX_LENGTH:
        return [f"use at most {MAX_LENGTH} characters"]
    lowered = password.lower()
    core = _PADDING.sub("", lowered)
    if not core:
        return ["use words, not only digits and symbols"]
    if core in _common() or lowered in _common() or core in (email.lower(),
                                                             email.lower().partition("@")[0]):
        return ["people commonly choose this password (or it is your email): choose one "
                "nobody would guess"]
    return []


def require_acceptable(password: str, email: str = "") -> None:
    found = problems(password, email)
    if found:
        raise Invalid("the password is not acceptable", {"password": found})
