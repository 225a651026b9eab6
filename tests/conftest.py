"""One application per test session and a fresh database per test, on SQLite by default or
PostgreSQL when GATEHOUSE_TEST_DATABASE_URL names a (throwaway) database."""

from __future__ import annotations

import copy
import gc
import hashlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, make_url, text

from registry.app import create_app, ledger_sessions
from registry.governance.policy import Policy, PolicyError, load_policies
from registry.platform import sealing
from registry.platform.clock import FrozenClock
from registry.platform.config import private_folder
from registry.platform.db import make_engine
from registry.platform.keys import VerifiedMark, default_key_store
from registry.platform.storage import FileStore
from registry.records import Base

# Numerical libraries on one thread each: the suite's models are small, and on a busy two-core
# machine OpenMP's worker threads spin waiting for cores (one HistGradientBoosting fit of a
# second took a minute so). Set before numpy and scikit-learn load their thread pools.
os.environ.setdefault("OMP_NUM_THREADS", "1")

FIXTURES = Path(__file__).parent / "fixtures"


def worker_database(url: str, worker: str) -> str:
    """A database of this pytest-xdist worker's own beside the one named (dropped with it by
    scripts/test_postgres.sh), so that workers never empty each other's tables."""
    named = make_url(url)
    own = f"{named.database}_{worker}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{own}"'))
    engine.dispose()
    return named.set(database=own).render_as_string(hide_password=False)


# --- the order files go to pytest-xdist's workers -------------------------------------------
# With `--dist loadfile` each file runs whole on one worker, handed out in the order of a queue;
# pytest-xdist orders that queue by each file's number of tests, so a long file of one test
# (test_properties.py) would start last and run on alone while the other worker stood idle.
# Here the queue is longest first instead (the greedy schedule that balances the workers): the
# seconds below are each file's total (setup and calls, `--durations=0`) on SQLite on a quiet
# two-core machine; a file not listed counts a quarter of a second a test. A stale figure only
# makes the workers finish less together, never changes what runs.
FILE_SECONDS = {
    "tests/test_properties.py": 64, "tests/test_fuzz.py": 46, "tests/test_gates.py": 35,
    "tests/test_monitor_health.py": 25, "tests/test_monitoring.py": 25,
    "tests/test_evaluation_evidence.py": 21, "tests/test_notifications.py": 20,
    "tests/web/test_pages.py": 18, "tests/web/test_browser.py": 14,
    "tests/analysis/test_drift.py": 14, "tests/test_evidence_api.py": 14,
    "tests/test_lifecycle.py": 14, "tests/web/test_organisation_mutations.py": 13,
    "tests/analysis/test_explain_held_out.py": 10, "tests/test_inbox.py": 9,
    "tests/test_jobs.py": 9, "tests/test_database_away.py": 9, "tests/test_at_rest.py": 9,
    "tests/test_purposes.py": 8, "tests/web/test_organisation_pages.py": 8,
    "tests/analysis/test_fairness.py": 8, "tests/test_client_package.py": 8,
    "tests/test_readme.py": 8, "tests/web/test_monitor_pages.py": 8, "tests/web/test_auth.py": 7,
    "tests/test_warm.py": 7, "tests/web/test_organisation_matrix.py": 7,
    "tests/web/test_evidence_pages.py": 7, "tests/test_outcome_monitoring.py": 6,
    "tests/test_migrations.py": 6, "tests/test_sign_in.py": 6, "tests/test_cli.py": 6,
    "tests/test_notebook.py": 6, "tests/test_serving.py": 6,
}


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "dist", "no") in ("loadfile", "loadscope"):
        config.option.loadscopereorder = False  # the workers' collection order is the queue
    # The garbage collector's passes walk every object alive, and a worker's heap holds pandas,
    # scikit-learn, shap, evidently and the app: at the default thresholds they took a tenth of
    # the suite's time. Here young objects are collected 70 times less often, and (as
    # `registry.app.main` does for a command) what collection loaded is frozen out of the passes.
    gc.set_threshold(50_000, 20, 10)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()  # the modules, the app's routes and the tests collected live as long as the run


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # in one process the files keep their order
    counts: dict[str, int] = {}
    for item in items:
        counts[item.nodeid.split("::")[0]] = counts.get(item.nodeid.split("::")[0], 0) + 1

    def seconds(path: str) -> float:
        return FILE_SECONDS.get(path, 0.25 * counts[path])

    # sort() is stable: a file's tests stay together and in their order
    items.sort(key=lambda item: -seconds(item.nodeid.split("::")[0]))


PG_URL = os.environ.get("GATEHOUSE_TEST_DATABASE_URL")
if PG_URL and os.environ.get("PYTEST_XDIST_WORKER"):
    PG_URL = worker_database(PG_URL, os.environ["PYTEST_XDIST_WORKER"])
T = TypeVar("T")
START = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str | None]:
    """On PostgreSQL the schema is built once; each test then empties every table."""
    if PG_URL:
        engine = create_engine(PG_URL)
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        engine.dispose()
    yield PG_URL


def empty_tables(engine: Engine) -> None:
    """Every table emptied and its ids restarted (PostgreSQL), as `TRUNCATE … RESTART IDENTITY`
    would, in a few milliseconds: TRUNCATE gives each of the ~35 tables and their indexes new
    files, a third of a second a test. Only the tables holding rows are emptied, each before
    those it refers to (no foreign key cascades, none refers to its own table)."""
    tables = Base.metadata.sorted_tables
    with engine.begin() as conn:
        # A connection the previous test left open in a transaction would make this wait for
        # ever: fail, saying so, instead.
        conn.execute(text("SET LOCAL lock_timeout = '30s'"))
        held = {row[0] for row in conn.execute(text(" UNION ALL ".join(
            f"(SELECT '{t.name}' FROM {t.name} LIMIT 1)" for t in tables)))}
        for table in reversed(tables):
            if table.name in held:
                conn.execute(table.delete())
        sequences = conn.execute(text(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences"
            " WHERE schemaname = current_schema()")).scalars().all()
        if sequences:
            conn.execute(text("SELECT " + ", ".join(
                f"setval('{name}', 1, false)" for name in sequences)))


# Passwords are hashed with a single round of PBKDF2 in tests, not scrypt (a quarter of a second
# each): signing in still checks them for real.
CHEAP_PASSWORDS = "pbkdf2:sha256:1"


@pytest.fixture(scope="session", autouse=True)
def cheap_passwords() -> Iterator[None]:
    from registry.governance import people

    people.use_password_method(CHEAP_PASSWORDS)
    yield
    people.use_password_method(None)


@pytest.fixture(scope="session", autouse=True)
def drift_checks_computed_once() -> Iterator[dict[Any, Any]]:
    """The service's drift checks (`registry.analysis.drift.check_drift`, as the monitoring
    rules call it) computed once per worker for each distinct reference, batch, columns and
    rules, then answered again as computed: evidently takes seconds a check (most of it drawing
    plots), and the suite's tests and property walks check the same held-out batch against the
    same reference over and over. What the rules do with a check is unchanged (they get the
    result evidently gave); a check that raises is not kept. tests/analysis/ calls evidently
    itself, every time."""
    from registry.analysis import drift

    real = drift.check_drift
    results: dict[Any, Any] = {}

    def check_drift(reference: Any, current: Any, *, numerical: list[str],
                    categorical: list[str], rules: Any, with_html: bool = True) -> Any:
        try:
            key = (_frame_key(reference), _frame_key(current), tuple(numerical),
                   tuple(categorical), rules, with_html)
        except TypeError:  # not a frame pandas can hash: as it is
            return real(reference, current, numerical=numerical, categorical=categorical,
                        rules=rules, with_html=with_html)
        if key not in results:
            results[key] = real(reference, current, numerical=numerical,
                                categorical=categorical, rules=rules, with_html=with_html)
        return copy.deepcopy(results[key])

    drift.check_drift = check_drift
    yield results
    drift.check_drift = real


def _frame_key(frame: Any) -> tuple[Any, ...]:
    """A data frame's content, columns and types, as a key."""
    import pandas as pd

    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).values.tobytes())
    return (digest.hexdigest(), tuple(frame.columns), tuple(map(str, frame.dtypes)), frame.shape)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


TEST_POLICY_CHANGES = {
    # The german_credit model is biased by sex beyond the default limits; the tests that need a
    # servable model use looser limits, and the tests of failing audits use the default policy.
    'name = "default"': 'name = "test"',
    '{ metric = "demographic_parity_ratio", min = 0.8 }': (
        '{ metric = "demographic_parity_ratio", min = 0.6 }'
    ),
    # The standard chain audits every protected attribute on 300 held-out rows, where the false
    # positive rates of groups of a few dozen rows differ by up to 0.3 by chance alone.
    '{ metric = "equalized_odds_difference", max = 0.1 }': (
        '{ metric = "equalized_odds_difference", max = 0.4 }'
    ),
    # On those 300 rows the smallest protected group (foreign_worker = "no") has 11 rows and only
    # 8 people are 65 or older: the test policy assesses groups of 10 and bands age to 50+.
    # Tests of small groups, merging and intersections use policies of their own.
    "min_group_size = 30": "min_group_size = 10",
    "age = [0, 25, 35, 50, 65, 130]": "age = [0, 25, 35, 50, 130]",
    'intersections = "pairs"': 'intersections = "none"',
    # housing is associated with sex (Cramér's V 0.35 on those rows); the proxy tests use 0.3.
    "proxy_threshold = 0.3 ": "proxy_threshold = 0.4 ",
}


@pytest.fixture(scope="session")
def base_policy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped policies plus a `test` policy derived from the default one."""
    folder = tmp_path_factory.mktemp("policies")
    shipped = Path(__file__).parent.parent / "policies"
    for path in shipped.glob("*.toml"):
        (folder / path.name).write_text(path.read_text())
    text_ = (shipped / "default.toml").read_text()
    for old, new in TEST_POLICY_CHANGES.items():
        assert old in text_, old
        text_ = text_.replace(old, new)
    (folder / "test.toml").write_text(text_)
    return folder


@pytest.fixture(scope="session")
def policy_dir(base_policy_dir: Path) -> Path:
    """The policies a test's app loads (some modules add policies of their own)."""
    return base_policy_dir


@pytest.fixture
def policy_name() -> str:
    return "test"


class Databases:
    """The session's application and what each test's fresh database is made from.

    On SQLite a test's database is a copy of a template file made once (the schema, and a second
    with the people of `PEOPLE` too, for tests that use `api`); on PostgreSQL every table is
    emptied. The application is built once: each test gets its own database, data folder,
    clock and policy, and gets back the configuration it found."""

    def __init__(self, app: Flask, folder: Path, pg_url: str | None) -> None:
        self.app, self.folder, self.pg_url = app, folder, pg_url
        self.services = app.extensions["gatehouse"]
        self.keys = self.services.keys  # the session's signing key, copied into each test's
        self.keyring = self.services.store.keyring  # the session's encryption keys, shared
        self._policies: dict[Path, dict[str, Policy]] = {}
        self._snapshots: dict[Any, tuple[Any, Path]] = {}
        self.tokens: dict[str, str] = {}
        self.with_people = False  # this test's database holds the people already
        if pg_url is None:
            self.empty = folder / "empty.sqlite3"
            self.people = folder / "people.sqlite3"
            self._make_templates()

    def _make_templates(self) -> None:
        engine = make_engine(f"sqlite:///{self.empty}")
        Base.metadata.create_all(engine)
        engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
        shutil.copyfile(self.empty, self.people)
        self._use(f"sqlite:///{self.people}")
        self.tokens = make_people(self.services)
        self._pristine = {False: (0, ""), True: self._state()}
        self.services.engine.dispose()

    def _use(self, url: str) -> None:
        engine = make_engine(url)
        services = self.services
        services.engine = engine
        services.sessions = ledger_sessions(engine, services.keys, services.policy)
        self.app.config["DATABASE_URL"] = url

    def fresh(self, folder: Path, with_people: bool) -> None:
        """A fresh database for one test (with the people on SQLite, if asked)."""
        if self.pg_url is not None:
            empty_tables(self.services.engine)
            self.app.config["DATABASE_URL"] = self.pg_url
            self.with_people = False
            return
        path = folder / "test.sqlite3"
        shutil.copyfile(self.people if with_people else self.empty, path)
        self._use(f"sqlite:///{path}")  # make_engine makes the file the service's alone (0600)
        self.with_people = with_people

    def _state(self) -> tuple[int, str]:
        """How many rows the database holds, and the ledger's head."""
        from registry.serving.verdicts import head

        total = " + ".join(f"(SELECT COUNT(*) FROM {t.name})" for t in Base.metadata.sorted_tables)
        with self.services.sessions() as session:
            return session.execute(text(f"SELECT {total}")).scalar_one(), head(session)

    def _path(self) -> Path:
        return Path(self.app.config["DATABASE_URL"].removeprefix("sqlite:///"))

    def reuse(self, key: Any, build: Callable[[], T]) -> T:
        """What `build` returns, and the records and files it makes; built once per session.

        The snapshot is taken, and reused, only where `build` starts from a database and data
        folder as the test's fixtures left them (on SQLite), at the same moment and policy: the
        key must name everything else `build` depends on. A copy of the result is returned.
        """
        services = self.services
        if (self.pg_url is not None or self._state() != self._pristine[self.with_people]
                or any(services.store.root.iterdir())):
            return build()
        key = (key, self.with_people, services.clock.now(), services.policy.content_hash)
        if key in self._snapshots:
            result, folder = self._snapshots[key]
            services.engine.dispose()
            _copy_database(folder / "db.sqlite3", self._path())
            shutil.copytree(folder / "data", services.store.root, dirs_exist_ok=True)
            return copy.deepcopy(result)
        result = build()
        folder = Path(tempfile.mkdtemp(dir=self.folder, prefix="snapshot-"))
        services.engine.dispose()
        _copy_database(self._path(), folder / "db.sqlite3")
        shutil.copytree(services.store.root, folder / "data")
        self._snapshots[key] = (copy.deepcopy(result), folder)
        return result

    def policies(self, folder: Path) -> dict[str, Policy]:
        if folder not in self._policies:
            self._policies[folder] = load_policies(folder)
        return self._policies[folder]


def _copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup: whatever is still in the source's WAL comes too."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def make_people(services: Any) -> dict[str, str]:
    """The organisation and the people of `PEOPLE`, committed; their bearer tokens."""
    from registry.governance import people
    from registry.governance.actors import OPERATOR

    tokens: dict[str, str] = {}
    with services.sessions() as session:
        org = people.ensure_organisation(
            session, OPERATOR, "Northmere Borough Council", services.clock.now()
        )
        for name, roles in PEOPLE.items():
            _, tokens[name] = people.create_user(
                session,
                OPERATOR,
                {
                    "email": f"{name}@northmere.gov.uk",
                    "name": name.title(),
                    "roles": roles,
                    "organisation_id": org.id,
                },
                services.clock.now(),
                password=f"{name}-correct-horse",
            )
        session.commit()
    return tokens


@pytest.fixture(scope="session")
def databases(
    tmp_path_factory: pytest.TempPathFactory, pg_schema: str | None, base_policy_dir: Path
) -> Iterator[Databases]:
    folder = tmp_path_factory.mktemp("app")
    application = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(folder / "instance"),
            "DATABASE_URL": pg_schema or f"sqlite:///{folder / 'unused.sqlite3'}",
            "DATA_DIR": str(folder / "data"),
            "SECRET_KEY": "test",
            "JOB_WORKERS": 0,
            "POLICY_DIR": str(base_policy_dir),
            "POLICY": "test",
            "PASSWORD_HASH_METHOD": CHEAP_PASSWORDS,
            "WEBHOOK_PRIVATE": True,  # the receivers are on loopback (test_notifications)
        },
        clock=FrozenClock(START),
    )
    application.extensions["gatehouse"].engine.dispose()
    found = Databases(application, folder, pg_schema)
    application.extensions["gatehouse_tests"] = found  # for builders: see `Databases.reuse`
    yield found
    found.services.engine.dispose()


def forget_process_state() -> None:
    """What the process keeps between requests whatever the app: cached verdicts and client
    rights (keyed by ids and ledger heads, which repeat across fresh databases), client tokens
    seen, loaded models
    (keyed by version id), and the sign-in rate limiter's counts."""
    from registry.serving import loaded, tokens, verdicts
    from registry.web.auth import limiter

    verdicts.clear()
    loaded.clear()
    tokens.clear()
    limiter.reset()


@pytest.fixture
def app(
    request: pytest.FixtureRequest,
    databases: Databases,
    tmp_path: Path,
    clock: FrozenClock,
    policy_dir: Path,
    policy_name: str,
) -> Iterator[Flask]:
    """The session's application, on a fresh database, data folder, clock and policy."""
    application, services = databases.app, databases.services
    config = dict(application.config)
    databases.fresh(tmp_path, with_people="api" in request.fixturenames)
    policies = databases.policies(policy_dir)
    if policy_name not in policies:
        raise PolicyError(f"no policy named {policy_name!r}; available: {sorted(policies)}")
    services.clock = clock
    services.policies, services.policy = policies, policies[policy_name]
    services.store = FileStore(tmp_path / "data", databases.keyring)
    assert databases.keyring is not None
    sealing.install(databases.keyring)  # another app made in a test may have installed its own
    # the test's own copy of the signing key (the people's template is signed with it) and its
    # own verification mark; its ledger signed at its policy's cadence
    instance = private_folder(tmp_path / "instance")
    for key_file in (databases.keys.path, databases.keys.public_path):
        if key_file.exists():
            shutil.copy2(key_file, instance / key_file.name)
    services.keys = default_key_store(instance, None)
    services.marks = VerifiedMark(instance)
    services.sessions = ledger_sessions(services.engine, services.keys, services.policy)
    services.extras.clear()
    application.config.update(
        DATA_DIR=str(tmp_path / "data"),
        POLICY_DIR=str(policy_dir),
        POLICY=policy_name,
    )
    forget_process_state()
    yield application
    pool = services.extras.pop("jobs", None)
    if pool is not None:
        pool.shutdown(wait=True)
    services.extras.clear()
    services.engine.dispose()
    application.config.clear()
    application.config.update(config)
    forget_process_state()


class Api:
    """A thin JSON client: `api.post(url, as_="olivia", json=...)` returns (status, body)."""

    def __init__(self, client: FlaskClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def call(self, method: str, url: str, as_: str | None = None, **kwargs: Any) -> tuple[int, Any]:
        headers = kwargs.pop("headers", {})
        if as_ is not None:
            headers["Authorization"] = f"Bearer {self.tokens[as_]}"
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        return response.status_code, response.get_json(silent=True)

    def get(self, url: str, as_: str | None = "olivia", **kw: Any) -> tuple[int, Any]:
        return self.call("GET", url, as_, **kw)

    def post(self, url: str, as_: str | None = "sam", **kw: Any) -> tuple[int, Any]:
        return self.call("POST", url, as_, **kw)

    def patch(self, url: str, as_: str | None = "sam", **kw: Any) -> tuple[int, Any]:
        return self.call("PATCH", url, as_, **kw)

    def put(self, url: str, as_: str | None = "sam", **kw: Any) -> tuple[int, Any]:
        return self.call("PUT", url, as_, **kw)


PEOPLE = {
    "sam": ["data_scientist"],  # builds models
    "priya": ["data_scientist"],  # a second data scientist
    "olivia": ["governance_officer"],  # reviews and approves
    "gus": ["governance_officer"],  # a second officer
    "dee": ["dpo"],  # data protection officer
    "audrey": ["auditor"],
    "ada": ["admin"],
}


@pytest.fixture
def api(app: Flask, databases: Databases) -> Api:
    """A JSON client, and the organisation and people of `PEOPLE` (from the template database on
    SQLite, made afresh on PostgreSQL)."""
    tokens = dict(databases.tokens) if databases.with_people else make_people(
        app.extensions["gatehouse"])
    return Api(app.test_client(), tokens)


def table_counts(app: Flask) -> dict[str, int]:
    """Row counts of every table, to prove a refused request stored nothing."""
    engine = app.extensions["gatehouse"].engine
    with engine.connect() as conn:
        return {
            t.name: conn.execute(text(f"SELECT COUNT(*) FROM {t.name}")).scalar_one()
            for t in Base.metadata.sorted_tables
        }
