"""Signing in with a password, throttled per account: growing delays, then a lockout.

After ``FREE_FAILURES`` wrong passwords in a row, each further attempt must wait twice as long
as the one before (1 s, 2 s, 4 s, … up to ``MAX_DELAY``); after ``LOCK_AFTER`` the account is
locked until an administrator unlocks it. A right password resets the count. While a wait or a
lock is in force the password is not even checked, so guessing gains nothing. (Throttling per
address, which also covers guesses spread over many accounts, is the web layer's rate limit.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import User
from . import ledger
from .actors import Actor
from .people import check_password
from .permissions import require

FREE_FAILURES = 3
LOCK_AFTER = 10
MAX_DELAY = timedelta(minutes=15)


@dataclass(frozen=True)
class Attempt:
    user: User | None  # set when the password was right and the account may sign in
    wait: timedelta | None = None  # set when the account must wait before trying again
    locked: bool = False


def delay_after(failures: int) -> timedelta:
    """How long to wait after `failures` wrong passwords in a row."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE_FAILURES)), MAX_DELAY)


def attempt(session: Session, email: str, password: str, now: datetime) -> Attempt:
    """Check the password unless the account must wait or is locked; count the outcome."""
    account = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if account is not None and account.locked_at is not None:
        return Attempt(None, locked=True)
    if account is not None and account.last_failed_sign_in_at is not None:
        ready = account.last_failed_sign_in_at + delay_after(account.failed_sign_ins)
        if now < ready:
            return Attempt(None, wait=ready - now)
    user = check_password(session, email, password)
    if account is None:
        return Attempt(None)
    if user is None:
        account.failed_sign_ins += 1
        account.last_failed_sign_in_at = now
        if account.failed_sign_ins >= LOCK_AFTER:
            account.locked_at = now
            ledger.append(session, Actor("system", None, "sign-in"), "lock", "user", account.id,
                          {"failed_sign_ins": account.failed_sign_ins}, now)
        return Attempt(None, locked=account.locked_at is not None)
    account.failed_sign_ins, account.last_failed_sign_in_at = 0, None
    return Attempt(user)


def unlock(session: Session, actor: Actor, user: User, now: datetime) -> None:
    """An administrator lifts a lockout (and any wait)."""
    require(actor, "administer")
    user.locked_at, user.failed_sign_ins, user.last_failed_sign_in_at = None, 0, None
    ledger.append(session, actor, "unlock", "user", user.id, {}, now)


def sign_out(user: User) -> None:
    """End every web session of the user: cookies carry the generation they were issued under."""
    user.session_generation += 1
