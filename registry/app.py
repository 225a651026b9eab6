"""The application factory, and the `gatehouse` command that serves and manages it."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask.cli import FlaskGroup
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from . import api, cli, web
from .api.auth import wants_json
from .api.errors import http_error
from .governance import people
from .governance.checkpoints import LEDGER_SIGNING, Signing
from .governance.policy import Policy, PolicyError, load_policies
from .platform import ratelimit
from .platform.clock import Clock
from .platform.config import ROOT, from_environment, private_folder
from .platform.db import make_engine, make_sessionmaker
from .platform.keys import KeyStore, VerifiedMark, default_key_store
from .platform.services import Services, close_db
from .platform.storage import FileStore


class BoundedInt(IntegerConverter):
    """`<int:…>` in every route: an id the database cannot hold (beyond 64 bits) matches no
    route, so it is a 404 like any other unknown id, not an overflow deep in the driver."""

    def __init__(self, map, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: dict[str, Any] | None = None, clock: Clock | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=((config or {}).get("INSTANCE_PATH")
                       or os.environ.get("GATEHOUSE_INSTANCE_PATH") or str(ROOT / "instance")),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.url_map.converters["int"] = BoundedInt
    app.config.update(from_environment(app.instance_path))
    app.config.update(config or {})
    private_folder(Path(app.instance_path))  # the secret key and, by default, the database
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    policies = load_policies(Path(app.config["POLICY_DIR"]))
    if app.config["POLICY"] not in policies:
        raise PolicyError(
            f"GATEHOUSE_POLICY: no policy named {app.config['POLICY']!r}; "
            f"available: {sorted(policies)}"
        )
    if app.config.get("PASSWORD_HASH_METHOD"):  # e.g. a cheap one for tests; else scrypt
        people.use_password_method(app.config["PASSWORD_HASH_METHOD"])
    engine = make_engine(app.config["DATABASE_URL"])
    policy = policies[app.config["POLICY"]]
    # The key is read (or, in the instance folder, made) on the first ledger entry, not here:
    # so `gatehouse keys init` finds none on a fresh instance, and starting needs no key.
    keys = default_key_store(Path(app.instance_path), app.config.get("SIGNING_KEY_FILE"))
    app.extensions["gatehouse"] = Services(
        engine=engine,
        sessions=ledger_sessions(engine, keys, policy),
        clock=clock or Clock(),
        policies=policies,
        policy=policy,
        store=FileStore(app.config["DATA_DIR"]),
        keys=keys,
        marks=VerifiedMark(Path(app.instance_path)),
    )
    app.teardown_appcontext(close_db)

    ratelimit.init_app(app)
    api.init_app(app)
    web.init_app(app)
    app.register_error_handler(404, _not_found)
    cli.init_app(app)
    return app


def ledger_sessions(engine: Engine, keys: KeyStore, policy: Policy) -> sessionmaker[Session]:
    """Sessions on `engine` whose ledger appends are signed with `keys`, checkpointed at the
    policy's cadence."""
    sessions = make_sessionmaker(engine)
    sessions.configure(info={LEDGER_SIGNING: Signing(keys, policy.checkpoint_every_entries,
                                                     policy.checkpoint_every_minutes)})
    return sessions


def _not_found(exc: HTTPException) -> Any:
    """A URL no route matches: the API's JSON error under its prefixes, else the web's page."""
    return http_error(exc) if wants_json() else web.not_found(exc)


def main() -> None:
    """The `gatehouse` command."""
    FlaskGroup(create_app=create_app, help="Gatehouse: governed model registry.")()
