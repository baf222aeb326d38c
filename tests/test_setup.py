"""The setup path a fresh machine takes (`make run`): migrations and demo data.

These tests run the real `flask` CLI in a subprocess against their own empty database, so they
do not use conftest's fixtures: a temporary SQLite file, or — when TEST_DATABASE_URL points at
PostgreSQL (the second half of `make test`) — a scratch database created beside it and dropped
afterwards.
"""
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
STATUSES = {"pending", "accepted", "rejected", "expired", "certified", "declined"}
ROLES = {"admin", "province", "school", "employer", "student"}


@pytest.fixture
def database_url(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL") or ""
    if not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'setup.db'}"
        return
    url = make_url(base)
    name = f"setup_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.DBAPIError as exc:  # no CREATEDB right: nothing to test here
        admin.dispose()
        pytest.skip(f"cannot create a scratch PostgreSQL database: {exc}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def flask(database_url, *args, check=True):
    env = dict(os.environ, DATABASE_URL=database_url, FLASK_APP="app:create_app", APP_ENV="development",
               PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    result = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        pytest.fail(f"flask {' '.join(args)} exited {result.returncode}\n"
                    f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def model_tables():
    import app.models  # noqa: F401
    from flask_appbuilder import Model

    return set(Model.metadata.tables)


def partial_indexes(engine):
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%WHERE%'"))
        else:
            rows = conn.execute(sa.text("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%WHERE%'"))
        return {r[0] for r in rows}


def row_counts(engine):
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar() for t in sorted(model_tables())}


def test_upgrade_creates_every_table_and_matches_models(database_url):
    flask(database_url, "db", "upgrade")
    engine = sa.create_engine(database_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        assert model_tables() <= tables, f"missing: {model_tables() - tables}"
        assert tables - model_tables() == {"alembic_version"}
        assert {t for t in tables if t.startswith("ab_")} >= {"ab_user", "ab_role", "ab_user_role",
                                                              "ab_permission_view", "ab_permission_view_role"}
        # R3, R6, R11 live in the database as partial unique indexes, on both dialects.
        assert {"uq_agreement_pending_offer", "uq_agreement_live_student", "uq_destination_live_student",
                "uq_termination_open"} <= partial_indexes(engine)
    finally:
        engine.dispose()

    check = flask(database_url, "db", "check", check=False)
    assert check.returncode == 0, f"models and migrations differ:\n{check.stdout}\n{check.stderr}"
    assert "No new upgrade operations detected" in check.stdout + check.stderr

    flask(database_url, "db", "downgrade", "base")
    engine = sa.create_engine(database_url)
    try:
        assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()


def test_demo_seed_is_idempotent_and_has_the_promised_shape(database_url):
    from stdnum.cn import ric, uscc
    from werkzeug.security import check_password_hash

    from app import regions
    from app.demo import DEMO_PASSWORD
    from app.security import password_problem

    flask(database_url, "db", "upgrade")
    flask(database_url, "roles", "sync")
    first = flask(database_url, "demo", "seed")
    engine = sa.create_engine(database_url)
    try:
        counts = row_counts(engine)
        second = flask(database_url, "demo", "seed")
        assert row_counts(engine) == counts, "a second seed changed row counts"
        for out in (first.stdout, second.stdout):
            for username in ("admin", "province", "school-10486", "school-10487", "emp-guanggu"):
                assert username in out
            assert DEMO_PASSWORD in out
        assert password_problem(DEMO_PASSWORD) is None

        with engine.connect() as conn:
            q = lambda sql, **kw: conn.execute(sa.text(sql), kw).mappings().all()  # noqa: E731
            schools = {r["code"]: r for r in q("SELECT id, code, name FROM school")}
            assert set(schools) == {"10486", "10487"}
            assert schools["10486"]["name"] == "武汉大学" and schools["10487"]["name"] == "华中科技大学"

            students = q("SELECT s.*, (SELECT count(*) FROM agreement a WHERE a.student_id = s.id) AS offers "
                         "FROM student s")
            for s in students:
                assert ric.is_valid(s["id_number"]), s["id_number"]
                assert re.fullmatch(r"1[3-9]\d{9}", s["phone"]), s["phone"]
            for code, school in schools.items():
                mine = [s for s in students if s["school_id"] == school["id"]]

                def reasons(s):
                    return [r for r, on in (
                        ("signing_restricted", bool(s["signing_restricted"])),
                        ("targeted", s["training_mode"] == "targeted"),
                        ("plan_submitted", bool(s["plan_submitted"])),
                        ("not_verified", s["verified_at"] is None),
                    ) if on]

                signable = [s for s in mine if not reasons(s) and s["training_mode"] == "non_targeted"]
                assert len(signable) >= 22, code
                assert len([s for s in signable if s["offers"] == 0]) >= 20, code
                for reason in ("signing_restricted", "targeted", "plan_submitted", "not_verified"):
                    assert any(reasons(s) == [reason] for s in mine), (code, reason)
                assert 3 <= len({s["department"] for s in signable}) <= 4, code
                assert len({s["major"] for s in signable}) >= 3, code
                assert len({s["education"] for s in signable}) >= 3, code

            employers = q("SELECT * FROM employer")
            assert len(employers) == 3
            for e in employers:
                assert e["profile_confirmed_at"] is not None
                assert uscc.is_valid(e["credit_code"]), e["credit_code"]
            # Every region the demo stored is a code in force (单位所在地, 报到地点, 工作地点, 其他去向).
            stored = [r["code"] for r in q("SELECT region AS code FROM employer UNION SELECT report_region FROM agreement "
                                           "UNION SELECT work_region FROM agreement")]
            stored += [json.loads(d["details"]).get("region") for d in q("SELECT details FROM destination")]
            assert "420111" in stored
            assert [c for c in stored if c is not None and not regions.is_valid(c)] == []
            approvals = q("SELECT employer_id, status FROM employer_approval")
            approved = {a["employer_id"] for a in approvals if a["status"] == "approved"}
            waiting = {a["employer_id"] for a in approvals if a["status"] == "pending"} - approved
            assert len(approved) == 2 and len(waiting) == 1

            agreements = q("SELECT id, status, number FROM agreement")
            assert STATUSES <= {a["status"] for a in agreements}
            assert all(a["number"] for a in agreements if a["status"] == "certified")
            entered = {r["agreement_id"] for r in q(
                "SELECT agreement_id FROM flow_event WHERE action IN ('invite', 'paper_record')")}
            assert entered == {a["id"] for a in agreements}, "every agreement went through workflow.invite/record"
            assert {"electronic", "paper"} == {r["kind"] for r in q("SELECT DISTINCT kind FROM agreement")}
            terminations = {r["status"] for r in q("SELECT status FROM termination")}
            assert terminations == {"requested", "agreed", "approved", "refused"}, terminations
            destinations = {r["status"] for r in q("SELECT status FROM destination")}
            assert destinations == {"submitted", "approved", "declined"}, destinations
            expired = {r["agreement_id"] for r in q("SELECT agreement_id FROM flow_event WHERE action = 'expire'")}
            assert expired == {a["id"] for a in agreements if a["status"] == "expired"}

            # 网上就业市场 (issue 19): postings in every state, applications in each, one application
            # that became a certified agreement, a posting a school hid — all through workflow.market.
            assert {r["status"] for r in q("SELECT status FROM job_posting")} == {"draft", "open", "closed", "offline"}
            assert {r["status"] for r in q("SELECT status FROM job_application")} == {
                "submitted", "viewed", "interview", "unsuitable", "offered", "withdrawn"}
            became = q("SELECT a.status FROM job_application j JOIN agreement a ON a.id = j.agreement_id")
            assert [r["status"] for r in became] == ["certified"]
            assert q("SELECT reason FROM posting_hide WHERE status = 'hidden'")
            submitted = {r["application_id"] for r in q(
                "SELECT application_id FROM flow_event WHERE action = 'application_submit'")}
            assert submitted == {r["id"] for r in q("SELECT id FROM job_application")}

            logins = q("SELECT u.username, u.password, u.student_id, u.employer_id, u.school_id, r.name AS role "
                       "FROM ab_user u JOIN ab_user_role ur ON ur.user_id = u.id JOIN ab_role r ON r.id = ur.role_id")
            assert ROLES <= {u["role"] for u in logins}
            for u in logins:
                assert check_password_hash(u["password"], DEMO_PASSWORD), u["username"]
                linked = [k for k in ("student_id", "employer_id", "school_id") if u[k]]
                assert linked == {"student": ["student_id"], "employer": ["employer_id"], "school": ["school_id"],
                                  "province": [], "admin": []}[u["role"]], u["username"]
            by_id = {s["id"]: s for s in students}
            code_of = {school["id"]: code for code, school in schools.items()}
            student_logins = [u for u in logins if u["role"] == "student"]
            assert len(student_logins) == len(students)
            for u in student_logins:
                s = by_id[u["student_id"]]
                assert u["username"] == f"{code_of[s['school_id']]}-{s['student_no']}"
    finally:
        engine.dispose()
