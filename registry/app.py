"""The application factory, and the `gatehouse` command that serves and manages it."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask.cli import FlaskGroup

from . import api, cli, web
from .governance import people
from .governance.policy import PolicyError, load_policies
from .platform.clock import Clock
from .platform.config import ROOT, from_environment, private_folder
from .platform.db import make_engine, make_sessionmaker
from .platform.services import Services, close_db
from .platform.storage import FileStore


def create_app(config: dict[str, Any] | None = None, clock: Clock | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=((config or {}).get("INSTANCE_PATH")
                       or os.environ.get("GATEHOUSE_INSTANCE_PATH") or str(ROOT / "instance")),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
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
    app.extensions["gatehouse"] = Services(
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock or Clock(),
        policies=policies,
        policy=policies[app.config["POLICY"]],
        store=FileStore(app.config["DATA_DIR"]),
    )
    app.teardown_appcontext(close_db)

    api.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app


def main() -> None:
    """The `gatehouse` command."""
    FlaskGroup(create_app=create_app, help="Gatehouse: governed model registry.")()
