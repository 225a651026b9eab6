"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Executable, create_engine, event, exc, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ClauseElement

from .config import private_file

# The database cannot be reached (stopped, restarting, its pool exhausted, SQLite locked too
# long): the request may succeed later, so the answer is 503 with Retry-After, never a 500.
DATABASE_AWAY = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError,
                 exc.DisconnectionError)
RETRY_AFTER_SECONDS = 5
DATABASE_AWAY_MESSAGE = ("the database cannot be reached just now; nothing was changed. Try "
                         f"again in {RETRY_AFTER_SECONDS} seconds")

# A pooled connection idle for longer than this is pinged before use (see `_ping_if_idle`).
IDLE_BEFORE_PING = 10.0

_SQLITE_BEGIN = "gatehouse_sqlite_begin"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and Path(database).parent.is_dir():
            private_file(Path(database))  # SQLite gives its -wal and -shm files the same mode
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # Let SQLAlchemy's "begin" event open transactions, so they can be IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:  # type: ignore[no-untyped-def]
            # Take the write lock up front: a deferred reader that later writes fails at once in
            # WAL mode when another writer got in first, instead of waiting its turn. Only a
            # transaction marked by `read_first` starts without it.
            mode = conn.get_execution_options().get(_SQLITE_BEGIN, "IMMEDIATE")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10)
    _ping_if_idle(engine)
    return engine


def _ping_if_idle(engine: Engine) -> None:
    """Check a pooled connection is alive before use if it has sat idle for a while.

    Like ``pool_pre_ping``, which pings on every checkout: a round trip per request that costs a
    third of the scoring throughput on a busy two-core machine. A connection used in the last
    few seconds is taken as alive; if the server went away since, the first statement fails,
    SQLAlchemy recognises the disconnection and replaces the whole pool.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(str(error)) from error  # the pool connects afresh


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_first(session: Session) -> bool:
    """Begin the session's next transaction as a reader that holds back no one.

    For work that only reads and ends (commit or rollback) before anything is written. On
    SQLite, whose one writer lock this application otherwise takes as each transaction begins,
    the reader starts without it (BEGIN DEFERRED). Elsewhere each read commits by itself
    (autocommit), sparing the BEGIN and COMMIT round trips; PostgreSQL's READ COMMITTED gives
    each statement its own snapshot anyway. False, changing nothing, when the session is
    already in a transaction.
    """
    if session.in_transaction():
        return False
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={_SQLITE_BEGIN: "DEFERRED"})
    else:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return True


def commit_alone(engine: Engine, statement: Executable, rows: list[dict[str, Any]]) -> None:
    """Run a statement for each of ``rows`` and commit at once, outside any session's transaction.

    SQLite takes its write lock for just this. Elsewhere a single row goes in autocommit, atomic
    by itself, sparing the BEGIN and COMMIT round trips; several rows share one transaction.
    A statement compiled for every parameter the rows give goes straight to the driver (see
    :func:`execute_alone`): several rows as the driver's executemany of the one statement,
    prepared once (psycopg sends the rows pipelined, in one round trip; on this machine 1,000
    receipts took ~20 ms so, against ~60 ms as one "VALUES (…), (…)" statement of 19,000
    parameters that PostgreSQL parses and plans anew each time).
    """
    if isinstance(statement, ClauseElement):
        plan = _plan(engine, statement)
        if all(plan.covered_by(row) for row in rows):
            _write_alone(engine, plan, [_parameters(plan, row) for row in rows])
            return
    if engine.dialect.name != "sqlite" and len(rows) == 1:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(statement, rows)
    else:
        with engine.begin() as connection:
            connection.execute(statement, rows)


# --- one statement straight to the driver -----------------------------------------------------
#
# A warm score request runs two statements (the token's lookup, the receipt's insert). Through
# SQLAlchemy's Connection each costs several times the driver's own work (a Connection and its
# transaction objects, events, the execution context, the result's metadata); these helpers run
# a Core statement compiled once per dialect on a pooled DBAPI connection, with its columns'
# bind processors (a sealed column is sealed, a UTC datetime checked), and give back plain rows.
# A driver's error is raised as SQLAlchemy's (a database that went away is still DATABASE_AWAY,
# and a connection it broke is dropped from the pool).


@dataclass(frozen=True)
class _Plan:
    sql: str
    positions: tuple[str, ...] | None  # the parameters' order for a positional paramstyle
    defaults: dict[str, Any]  # parameters the statement binds itself (literals in it)
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    names: frozenset[str]  # every parameter the statement takes

    def covered_by(self, values: dict[str, Any]) -> bool:
        """Whether ``values`` gives every parameter the statement does not bind itself (an
        INSERT compiled for every column: one that leaves a column to its default, which
        SQLAlchemy fills in as it executes, goes through SQLAlchemy)."""
        return self.names <= values.keys() | self.defaults.keys()


# Called with (DBAPI connection, SQL, how many rows it runs for) before each statement these
# helpers send, which SQLAlchemy's engine events do not see (the tests count round trips).
observers: list[Callable[[Any, str, int], None]] = []
_plans: dict[tuple[int, str], tuple[ClauseElement, _Plan]] = {}
_plans_lock = threading.Lock()


def _plan(engine: Engine, statement: ClauseElement) -> _Plan:
    key = (id(statement), engine.dialect.name)
    found = _plans.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    dialect = engine.dialect
    compiled = statement.compile(dialect=dialect)
    processors = []
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((name, process))
    plan = _Plan(compiled.string,
                 tuple(compiled.positiontup) if compiled.positional and compiled.positiontup
                 else None,
                 {name: bind.effective_value for name, bind in compiled.binds.items()
                  if not bind.required}, tuple(processors), frozenset(compiled.binds))
    with _plans_lock:
        _plans[key] = (statement, plan)  # the statement is held, so its id is not reused
    return plan


def _parameters(plan: _Plan, values: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
    params = {**plan.defaults, **values}
    for name, process in plan.processors:
        params[name] = process(params[name])
    return params if plan.positions is None else [params[n] for n in plan.positions]


@contextmanager
def _driver(engine: Engine, plan: _Plan, params: Any) -> Iterator[Any]:
    """A pooled DBAPI connection's cursor; a driver error raised as SQLAlchemy's."""
    fairy = engine.raw_connection()
    cursor = None
    try:
        cursor = fairy.cursor()
        yield fairy, cursor
    except engine.dialect.loaded_dbapi.Error as error:
        gone = engine.dialect.is_disconnect(error, fairy.dbapi_connection, cursor)
        if gone:
            fairy.invalidate(error)
        raise exc.DBAPIError.instance(
            plan.sql, params, error, engine.dialect.loaded_dbapi.Error,
            connection_invalidated=gone, dialect=engine.dialect) from error
    finally:
        if cursor is not None:
            cursor.close()
        fairy.close()  # back to the pool, which rolls back anything left open


def execute_alone(engine: Engine, statement: ClauseElement, values: dict[str, Any],
                  *, write: bool = False) -> list[tuple[Any, ...]]:
    """Run one Core statement by itself on a pooled connection and commit it; its rows, as the
    driver gives them (no result processing: for columns the driver reads as they are).

    A read holds no lock (SQLite: a statement outside BEGIN reads one snapshot; elsewhere
    autocommit). A write takes SQLite's write lock for just this; elsewhere it is atomic by
    itself in autocommit: one round trip.
    """
    plan = _plan(engine, statement)
    if not plan.covered_by(values):
        raise ValueError(f"no value for {sorted(plan.names - values.keys() - plan.defaults.keys())}"
                         " (execute_alone runs a statement as compiled for every parameter)")
    if write:
        return _write_alone(engine, plan, [_parameters(plan, values)])
    params = _parameters(plan, values)
    with _driver(engine, plan, params) as (fairy, cursor):
        if engine.dialect.name == "sqlite":
            _observed(fairy, plan.sql, 1)
            cursor.execute(plan.sql, params)
            return cursor.fetchall() if cursor.description else []
        with _autocommit(engine, fairy):
            _observed(fairy, plan.sql, 1)
            cursor.execute(plan.sql, params)
            return cursor.fetchall() if cursor.description else []


def _write_alone(engine: Engine, plan: _Plan, params: list[Any]) -> list[tuple[Any, ...]]:
    """The statement for each of ``params``, committed together; a single one's rows."""
    with _driver(engine, plan, params) as (fairy, cursor):
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
            rows = _run(fairy, cursor, plan.sql, params)
            fairy.dbapi_connection.commit()
            return rows
        if len(params) > 1:  # one transaction (the pool's connections begin one by themselves)
            rows = _run(fairy, cursor, plan.sql, params)
            fairy.dbapi_connection.commit()
            return rows
        with _autocommit(engine, fairy):  # one row is atomic by itself: no BEGIN, no COMMIT
            return _run(fairy, cursor, plan.sql, params)


def _run(fairy: Any, cursor: Any, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    _observed(fairy, sql, len(params))
    if len(params) > 1:
        cursor.executemany(sql, params)
        return []
    cursor.execute(sql, params[0])
    return cursor.fetchall() if cursor.description else []


@contextmanager
def _autocommit(engine: Engine, fairy: Any) -> Iterator[None]:
    driver = fairy.driver_connection
    driver.autocommit = True
    try:
        yield
    finally:
        try:
            driver.autocommit = False  # as the pool hands its connections out
        except engine.dialect.loaded_dbapi.Error as error:
            fairy.invalidate(error)  # broken (the error above says how): not reused


def _observed(fairy: Any, sql: str, rows: int) -> None:
    for observe in observers:
        observe(fairy.dbapi_connection, sql, rows)
