"""The database layer's transaction modes, on the real database the suite runs on."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import Engine, exc, func, select, text

from registry.platform import db
from registry.records import Organisation

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def engine_of(app: Flask) -> Engine:
    return app.extensions["gatehouse"].engine


def organisations(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.scalars(select(Organisation.name)))


def write_in_thread(app: Flask, name: str) -> threading.Thread:
    def write() -> None:
        with app.extensions["gatehouse"].sessions() as session:
            session.add(Organisation(name=name, kind="council", created_at=NOW))
            session.commit()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


def test_a_reader_begun_with_read_first_holds_back_no_writer(app: Flask) -> None:
    engine = engine_of(app)
    with app.extensions["gatehouse"].sessions() as reader:
        assert db.read_first(reader)
        assert not db.read_first(reader)  # already in a transaction: nothing changes
        reader.execute(select(func.count()).select_from(Organisation))
        writer = write_in_thread(app, "Written while a reader is open")
        writer.join(timeout=10)
        assert not writer.is_alive()
        reader.rollback()
    assert organisations(engine) == {"Written while a reader is open"}


def test_on_sqlite_an_ordinary_transaction_holds_the_write_lock_from_its_start(
        app: Flask) -> None:
    engine = engine_of(app)
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers never block writers")
    with app.extensions["gatehouse"].sessions() as reader:
        reader.execute(select(func.count()).select_from(Organisation))
        writer = write_in_thread(app, "Waits its turn")
        time.sleep(0.5)
        assert writer.is_alive()  # waiting for the write lock
        reader.commit()
    writer.join(timeout=10)
    assert organisations(engine) == {"Waits its turn"}


def test_commit_alone_stores_one_row_at_once_and_a_batch_all_or_nothing(app: Flask) -> None:
    engine = engine_of(app)
    insert = Organisation.__table__.insert()
    db.commit_alone(engine, insert, [{"name": "Alone", "kind": "council", "created_at": NOW}])
    assert organisations(engine) == {"Alone"}
    batch = [{"name": "First of two", "kind": "council", "created_at": NOW},
             {"name": "Alone", "kind": "council", "created_at": NOW}]  # a duplicate name
    with pytest.raises(exc.IntegrityError):
        db.commit_alone(engine, insert, batch)
    assert organisations(engine) == {"Alone"}


def test_rows_given_every_column_go_to_the_driver_in_one_statement_all_or_nothing(
        app: Flask) -> None:
    engine = engine_of(app)
    insert = Organisation.__table__.insert()
    sent: list[tuple[str, int]] = []

    def row(n: int, name: str) -> dict:
        return {"id": 9000 + n, "slug": f"driver-{n}", "name": name, "kind": "council",
                "created_at": NOW}

    def seen(_raw: object, sql: str, rows: int) -> None:
        sent.append((sql.split()[0].upper(), rows))

    db.observers.append(seen)
    try:
        db.commit_alone(engine, insert, [row(1, "Driver one"), row(2, "Driver two")])
        assert sent == [("INSERT", 2)]  # one statement, run for both rows (executemany)
        with pytest.raises(exc.IntegrityError):  # the second row repeats a name
            db.commit_alone(engine, insert, [row(3, "Driver three"), row(4, "Driver one")])
    finally:
        db.observers.remove(seen)
    assert {"Driver one", "Driver two"} <= organisations(engine)
    assert "Driver three" not in organisations(engine)  # nothing of the refused batch


def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_of(app)
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no server to drop a connection")
    first, second = engine.connect(), engine.connect()
    dropped = first.scalar(text("SELECT pg_backend_pid()"))
    first.close()  # back to the pool, where the server now drops it
    second.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
    second.close()
    monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)  # every pooled connection counts as idle
    with engine.connect() as one, engine.connect() as two:
        pids = {one.scalar(text("SELECT pg_backend_pid()")),
                two.scalar(text("SELECT pg_backend_pid()"))}
    assert dropped not in pids and None not in pids and len(pids) == 2
