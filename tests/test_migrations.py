"""Alembic's `upgrade head` gives exactly the models' schema; `downgrade base` empties it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from registry.platform.migrations import downgrade, upgrade
from registry.records import Base

from .conftest import PG_URL


def _url(tmp_path: Path) -> str:
    if PG_URL:  # a schema of its own, so the shared test schema is untouched
        return PG_URL
    return f"sqlite:///{tmp_path / 'migrated.sqlite3'}"


def _fresh(tmp_path: Path, schema: str) -> str:
    """A database URL with nothing in it: a schema of its own on PostgreSQL."""
    if not PG_URL:
        return _url(tmp_path)
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return PG_URL + ("&" if "?" in PG_URL else "?") + f"options=-csearch_path%3D{schema}"


def _drop(schema: str) -> None:
    if PG_URL:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def test_existing_agreements_get_development_and_use_and_fairness_audit_only_under_art9(
        tmp_path: Path) -> None:
    """0002 decides the stages of agreements that exist: what a permitted purpose meant before
    (development and use), plus fairness auditing only where special-category data was shared
    under an Art. 9 condition."""
    url = _fresh(tmp_path, "stagestest")
    upgrade(url, "0001")
    engine = create_engine(url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, name, kind, created_at) "
                          "VALUES (1, 'Northmere', 'council', :now)"), {"now": now})
        conn.execute(text("INSERT INTO users (id, email, name, roles, active, created_at) "
                          "VALUES (1, 'sam@x', 'Sam', '[]', :yes, :now)"),
                     {"now": now, "yes": True})
        for id_, special, art9 in ((1, False, None), (2, True, "substantial_public_interest"),
                                   (3, True, None)):
            conn.execute(text(
                "INSERT INTO agreements (id, reference, title, provider, recipient, controllers,"
                " legal_basis, special_category, art9_condition, statutory_gateway, purposes,"
                " data_categories, retention, signatories, state, organisation_id, owner_id,"
                " created_by_id, created_at, updated_at) VALUES (:id, :ref, 't', 'p', 'r', '[]',"
                " 'public_task', :special, :art9, '', :purposes, '[]', '', '[]', 'approved', 1,"
                " 1, 1, :now, :now)"),
                {"id": id_, "ref": f"DSA-{id_}", "special": special, "art9": art9, "now": now,
                 "purposes": json.dumps(["service_planning", "credit_risk_research"])})
    upgrade(url, "0002")
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, stages FROM agreements")).all())
    stages = {k: v if isinstance(v, dict) else json.loads(v) for k, v in rows.items()}
    both = ["development", "use"]
    assert stages[1] == {"service_planning": both, "credit_risk_research": both}
    assert stages[2] == {p: [*both, "fairness_audit"]
                         for p in ("service_planning", "credit_risk_research")}
    assert stages[3] == stages[1]  # special category without an Art. 9 condition: no audit basis
    downgrade(url, "0001")
    assert "stages" not in {c["name"] for c in inspect(engine).get_columns("agreements")}
    downgrade(url)
    engine.dispose()
    _drop("stagestest")


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


def test_a_single_organisation_database_moves_into_its_organisation(tmp_path: Path) -> None:
    """0008: each user's organisation and roles become a membership; decisions, ledger entries
    and clients take their organisation (the only one, where nothing else says); agreements are
    received by the organisation that registered them. 0016: jobs take it too, and names are
    unique per organisation (a second may reuse one). Downgrading gives the roles back."""
    url = _fresh(tmp_path, "orgstest")
    upgrade(url, "0007")
    engine = create_engine(url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, name, kind, created_at) "
                          "VALUES (1, 'Northmere Borough Council', 'council', :now)"),
                     {"now": now})
        for id_, org, roles in ((1, 1, ["data_scientist"]), (2, None, ["admin"])):
            conn.execute(text(
                "INSERT INTO users (id, email, name, organisation_id, roles, active,"
                " failed_sign_ins, created_at) VALUES (:id, :email, '', :org, :roles, :yes, 0,"
                " :now)"), {"id": id_, "email": f"u{id_}@x", "org": org,
                            "roles": json.dumps(roles), "yes": True, "now": now})
        conn.execute(text(
            "INSERT INTO agreements (id, reference, title, provider, recipient, controllers,"
            " legal_basis, special_category, statutory_gateway, purposes, stages,"
            " data_categories, retention, signatories, state, organisation_id, owner_id,"
            " created_by_id, created_at, updated_at) VALUES (1, 'DSA-1', 't', 'p', 'r', '[]',"
            " 'public_task', :no, '', '[]', '{}', '[]', '', '[]', 'approved', 1, 1, 1, :now,"
            " :now)"), {"no": False, "now": now})
        conn.execute(text(
            "INSERT INTO api_clients (id, name, models, purposes, active, created_at)"
            " VALUES (1, 'app', '[]', '[]', :yes, :now)"), {"yes": True, "now": now})
        conn.execute(text(
            "INSERT INTO jobs (id, kind, state, params, created_by_id, created_at)"
            " VALUES ('j1', 'drift_check', 'succeeded', '{}', 1, :now)"), {"now": now})
        conn.execute(text(
            "INSERT INTO decisions (id, subject_kind, subject_id, decision, from_state,"
            " to_state, rationale, closed, policy_name, policy_version, policy_hash,"
            " evidence_hash, created_at) VALUES (1, 'agreement', 1, 'approve', 'submitted',"
            " 'approved', 'ok', :no, 'p', '1', 'h', 'h', :now)"), {"no": False, "now": now})
        for seq, kind, subject in ((1, "organisation", "1"), (2, "user", "1"),
                                   (3, "agreement", "1"), (4, "model", "gone")):
            conn.execute(text(
                "INSERT INTO ledger_entries (seq, at, actor, action, subject_kind, subject_id,"
                " change, change_hash, prev_hash, entry_hash) VALUES (:seq, :now, 'a', 'x',"
                " :kind, :subject, '{}', 'h', 'h', 'h')"),
                {"seq": seq, "now": now, "kind": kind, "subject": subject})
    upgrade(url)
    with engine.connect() as conn:
        members = conn.execute(text(
            "SELECT user_id, organisation_id, roles FROM memberships ORDER BY user_id")).all()
        assert [(m.user_id, m.organisation_id) for m in members] == [(1, 1), (2, 1)]
        assert "data_scientist" in str(members[0].roles) and "admin" in str(members[1].roles)
        assert conn.execute(text("SELECT slug FROM organisations")).scalar_one() == (
            "northmere-borough-council")
        for table in ("decisions", "api_clients", "ledger_entries", "jobs"):
            found = {r[0] for r in conn.execute(text(f"SELECT organisation_id FROM {table}"))}
            assert found == {1}, table
        assert conn.execute(text(
            "SELECT recipient_organisation_id FROM agreements")).scalar_one() == 1
        assert conn.execute(text(
            "SELECT provider_suspended, recipient_suspended FROM agreements")).one() == (
            False, False)
    with engine.begin() as conn:  # another council's "DSA-1" is its own
        conn.execute(text("INSERT INTO organisations (id, slug, name, kind, created_at) "
                          "VALUES (2, 'eastbrook', 'Eastbrook', 'council', :now)"),
                     {"now": now})
        conn.execute(text(
            "INSERT INTO agreements (id, reference, title, provider, recipient, controllers,"
            " legal_basis, special_category, statutory_gateway, purposes, stages,"
            " data_categories, retention, signatories, state, organisation_id, owner_id,"
            " created_by_id, created_at, updated_at, provider_suspended, recipient_suspended)"
            " VALUES (2, 'DSA-1', 't', 'p', 'r', '[]', 'public_task', :no, '', '[]', '{}', '[]',"
            " '', '[]', 'draft', 2, 1, 1, :now, :now, :no, :no)"), {"no": False, "now": now})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # but not twice in one
        conn.execute(text(
            "UPDATE agreements SET organisation_id = 1 WHERE id = 2"))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM agreements WHERE id = 2"))
        conn.execute(text("DELETE FROM organisations WHERE id = 2"))
    downgrade(url, "0007")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT id, organisation_id, roles FROM users ORDER BY id")).all()
    assert [(u.id, u.organisation_id) for u in back] == [(1, 1), (2, 1)]
    assert "admin" in str(back[1].roles)
    downgrade(url)
    engine.dispose()
    _drop("orgstest")


def test_a_database_without_organisations_needs_none(tmp_path: Path) -> None:
    url = _fresh(tmp_path, "noorgtest")
    upgrade(url, "0007")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (id, email, name, roles, active, failed_sign_ins, created_at)"
            " VALUES (1, 'a@x', '', '[\"admin\"]', :yes, 0, :now)"),
            {"yes": True, "now": datetime(2026, 1, 1, tzinfo=UTC)})
    upgrade(url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT organisation_id, roles FROM memberships")).one()
    assert row.organisation_id is None and "admin" in str(row.roles)  # deployment-wide
    downgrade(url)
    engine.dispose()
    _drop("noorgtest")
