"""Faults the system rides out without a person (issue "faults"): the limiter's Redis gone, the
database dropping its connections."""
import pytest
from sqlalchemy import text

from tests.support.database import is_postgres
from tests.support.factories import PASSWORD, make_user
from tests.support.jobs import free_port


def _app_with(app, **overrides):
    """A second app on the same database, with `overrides` (e.g. a limiter storage that is down)."""
    from app import create_app

    keep = ("SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS", "SECRET_KEY", "UPLOAD_DIR",
            "FAB_PASSWORD_HASH_METHOD", "COOLING_OFF_MINUTES")
    settings = {k: app.config[k] for k in keep if k in app.config}
    return create_app({**settings, "TESTING": True, "WTF_CSRF_ENABLED": False, "SERVER_NAME": None,
                       "REDIS_URL": None, **overrides})


def test_login_works_while_the_limiters_redis_is_down(app):
    """Finding 1: POST /login/ answered 500 (limits' Redis ConnectionError) with Redis down."""
    user = make_user("province")
    down = _app_with(app, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    client = down.test_client()
    response = client.post("/login/", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and not response.headers["Location"].startswith("/login")
    assert client.get("/province/").status_code == 200


@pytest.mark.skipif(not is_postgres(), reason="terminates PostgreSQL backends")
def test_a_dropped_database_connection_costs_no_request(app, client, login):
    """Finding 6: after the database dropped its connections, each web process answered one 500."""
    from app.extensions import db

    user = make_user("province")
    login(client, user.username)
    assert client.get("/province/").status_code == 200
    db.session.close()  # this test's own connection back to the pool too: all of them are dropped
    with db.engine.connect() as conn:  # drop every other connection of this database, as a restart would
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        conn.commit()
    assert client.get("/province/").status_code == 200


def test_healthz_answers_without_login_or_database(app, client, monkeypatch):
    from app.extensions import db

    def down(*_a, **_k):
        raise RuntimeError("database gone")

    monkeypatch.setattr(db.session, "execute", down)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_reports_each_check(app, client, monkeypatch):
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200 and body["checks"]["database"] == {"ok": True}
    assert body["checks"]["redis"] == {"ok": True, "configured": False}

    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 503 and body["checks"]["redis"]["ok"] is False


def test_readyz_says_not_ready_when_the_database_fails(app, client, monkeypatch):
    from app.extensions import db

    real = db.session.execute

    def failing(statement, *a, **k):
        if "SELECT 1" in str(statement):
            raise RuntimeError("connection refused")
        return real(statement, *a, **k)

    monkeypatch.setattr(db.session, "execute", failing)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["database"]["ok"] is False


def test_readyz_reports_an_outbox_backlog(app, client):
    from datetime import timedelta

    from app.extensions import db
    from app.models import Notification, utcnow

    user = make_user("province")
    db.session.add(Notification(user_id=user.id, email=user.email, subject="s", body="b", email_status="pending",
                                created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    outbox = client.get("/readyz").get_json()["checks"]["outbox"]
    assert outbox["ok"] is False and outbox["count"] == 1
