"""API clients' tokens seen lately, by their hash, cached per process.

A warm score then names its client without a lookup of its own: its receipt's INSERT checks, in
the same statement, that the token is still the client's and active and that the ledger's head
is the one the score's checks were answered at (``governance.people.STILL_CURRENT``). A token
revoked, or anything appended to the ledger, is so seen by the very next request, as before;
the INSERT then writes nothing, the entry is forgotten and the request is answered from scratch.
"""

from __future__ import annotations

import threading

from ..governance.actors import Actor

_MAX = 1024  # clients per process; beyond it the cache starts afresh
_seen: dict[str, tuple[Actor, str]] = {}
_lock = threading.Lock()


def recall(token_hash: str) -> tuple[Actor, str] | None:
    """The client a token named and the ledger head it was read with, if seen."""
    return _seen.get(token_hash)


def remember(token_hash: str, actor: Actor, head: str) -> None:
    with _lock:
        if len(_seen) >= _MAX:
            _seen.clear()
        _seen[token_hash] = (actor, head)


def forget(token_hash: str) -> None:
    _seen.pop(token_hash, None)


def clear() -> None:
    _seen.clear()
