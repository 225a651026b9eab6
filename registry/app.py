"""The application factory, and the `gatehouse` command that serves and manages it."""

from __future__ import annotations

import gc
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask
from flask.cli import FlaskGroup
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from . import cli
from .platform.clock import Clock
from .platform.config import ROOT, from_environment, private_folder

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from .governance.policy import Policy
    from .platform.keys import KeyStore


class BoundedInt(IntegerConverter):
    """`<int:…>` in every route: a number no id can be (ids are PostgreSQL's 32-bit integer)
    matches no route, so it is a 404 like any other unknown id, not an overflow in the driver."""

    def __init__(self, map, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


# The `gatehouse` commands that serve requests; the others start without the API and the pages.
SERVING_COMMANDS = frozenset({"run", "routes", "shell", "worker"})


def create_app(config: dict[str, Any] | None = None, clock: Clock | None = None, *,
               routes: bool = True) -> Flask:
    """The application; without ``routes`` (commands that serve nothing) it has no API, OpenAPI
    document or web pages, which are the most of its start-up time."""
    # the records, rules and services load here, not with the module: `gatehouse --help` and
    # each command's help start without them
    from .governance import people
    from .governance.policy import PolicyError, load_policies
    from .platform import sealing
    from .platform.db import make_engine
    from .platform.keys import VerifiedMark, default_key_store
    from .platform.services import Services, close_db
    from .platform.storage import FileStore

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
    keyring = sealing.default_keyring(Path(app.instance_path), app.config.get("MASTER_KEY_FILE"))
    sealing.install(keyring)
    app.extensions["gatehouse"] = Services(
        engine=engine,
        sessions=ledger_sessions(engine, keys, policy),
        clock=clock or Clock(),
        policies=policies,
        policy=policy,
        store=FileStore(app.config["DATA_DIR"], keyring),
        keys=keys,
        marks=VerifiedMark(Path(app.instance_path)),
    )
    app.teardown_appcontext(close_db)

    if routes:
        from . import api, web
        from .platform import ratelimit

        ratelimit.init_app(app)
        api.init_app(app)
        web.init_app(app)
        app.register_error_handler(404, _not_found)
    cli.init_app(app)
    return app


def ledger_sessions(engine: Engine, keys: KeyStore, policy: Policy) -> sessionmaker[Session]:
    """Sessions on `engine` whose ledger appends are signed with `keys`, checkpointed at the
    policy's cadence, and raise events once committed (`jobs.notify`)."""
    from .governance.checkpoints import LEDGER_SIGNING, Signing
    from .jobs import notify
    from .platform.db import make_sessionmaker

    sessions = make_sessionmaker(engine)
    sessions.configure(info={LEDGER_SIGNING: Signing(keys, policy.checkpoint_every_entries,
                                                     policy.checkpoint_every_minutes)})
    notify.install(sessions, policy)  # what a commit appends to the ledger is told after it
    return sessions


def _not_found(exc: HTTPException) -> Any:
    """A URL no route matches: the API's JSON error under its prefixes, else the web's page."""
    from . import web
    from .api.auth import wants_json
    from .api.errors import http_error

    return http_error(exc) if wants_json() else web.not_found(exc)


class GatehouseGroup(FlaskGroup):
    """Flask's command group holding Gatehouse's commands itself, so that listing them or
    showing their help loads no application; without the commands of Flask plugins
    (flask-limiter's loads rich and pygments)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Flask's --app would load another application, and --env-file another configuration
        # than the server's: Gatehouse's settings come from the environment alone.
        self.params = [p for p in self.params if p.name not in ("app", "env_file")]
        for command in cli.COMMANDS:
            self.add_command(command)

    def _load_plugin_commands(self) -> None:
        self._loaded_plugin_commands = True

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)


def main() -> None:
    """The `gatehouse` command: the routes are built only for the commands that serve them.

    What loading makes (modules, mapped classes, the app) lives as long as the process, so the
    garbage collector's passes over it are wasted: it is off while loading, and once the app is
    made (or failed to be), what exists is kept out of its generations (`gc.freeze`) and it is
    on again. So the command's own work, and a server's, is collected as usual, and neither
    loading nor exiting walks the loaded heap. (`--help` never loads the app: it ends first.)"""
    gc.disable()
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    routes = command in SERVING_COMMANDS
    # Settings come from the environment alone, as for `gatehouse serve`'s gunicorn: a stray
    # .env file (read by Flask when python-dotenv is installed) would set up the command only.
    GatehouseGroup(create_app=lambda: _loaded(routes), load_dotenv=False,
                   help="Gatehouse: governed model registry.")()


def _loaded(routes: bool) -> Flask:
    from sqlalchemy.orm import configure_mappers

    try:
        app = create_app(routes=routes)
        configure_mappers()  # the relationships, made now rather than by the first query
    finally:
        gc.freeze()
        gc.enable()
    return app
