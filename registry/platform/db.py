"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Executable, create_engine, event, exc, make_url
from sqlalchemy.orm import Session, sessionmaker

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
    """
    if engine.dialect.name != "sqlite" and len(rows) == 1:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(statement, rows)
    else:
        with engine.begin() as connection:
            connection.execute(statement, rows)
