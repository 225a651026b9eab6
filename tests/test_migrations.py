"""Alembic's `upgrade head` gives exactly the models' schema; `downgrade base` empties it."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from registry.migrate import downgrade, upgrade
from registry.records import Base

from .conftest import PG_URL


def _url(tmp_path: Path) -> str:
    if PG_URL:  # a schema of its own, so the shared test schema is untouched
        return PG_URL
    return f"sqlite:///{tmp_path / 'migrated.sqlite3'}"


def test_upgrade_head_matches_the_models_and_downgrade_works(tmp_path: Path) -> None:
    if PG_URL:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS migtest CASCADE"))
            conn.execute(text("CREATE SCHEMA migtest"))
        engine.dispose()
        url = PG_URL + ("&" if "?" in PG_URL else "?") + "options=-csearch_path%3Dmigtest"
    else:
        url = _url(tmp_path)
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], diff
    downgrade(url)
    remaining = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert remaining == set()
    engine.dispose()
    if PG_URL:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA migtest CASCADE"))
        engine.dispose()
