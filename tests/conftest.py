"""Shared fixtures (STYLE.md "Tests"): one app per session, a clean database per test.

The database is `TEST_DATABASE_URL` (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) or,
by default, a fresh SQLite file in pytest's tmp dir. Tables are created from FAB's
`Model.metadata` (STACK-NOTES: `db.create_all()` would create nothing), roles and permissions once
per session; after each test every data row is wiped except FAB's permission/role tables.

Factories live in `tests/factories.py` (plain functions); `login(client, username)` is there too
and is also offered as the `login` fixture.
"""
import contextvars
import os

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, text

from tests.factories import PASSWORD, login as _login

# FAB's permission tables survive between tests (sync_roles is slow-ish and idempotent).
KEEP_TABLES = {"ab_permission", "ab_view_menu", "ab_permission_view", "ab_role", "ab_permission_view_role"}


def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


def is_postgres():
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh contextvars context, so it pushes its own app context.

    Tests run inside an app context (factories need one); Flask would otherwise reuse it for the
    request, and `g` (Flask-Login's cached user, our party cache) and the db session would leak
    from one request — or one client — to the next. After the request the test's own session
    is expired so it re-reads what the request committed.
    (Side effect: `with client:` cannot keep the request context alive after a request.)"""

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        from app.extensions import db
        from flask import has_app_context

        if has_app_context():
            db.session.expire_all()
        return response


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    from flask_appbuilder import Model

    from app import create_app
    from app.extensions import db
    from app.security import sync_roles

    url = database_url(tmp_path_factory)
    overrides = {
        "SQLALCHEMY_DATABASE_URI": url,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SECRET_KEY": "test-secret-key-0123456789abcdef",
        "SERVER_NAME": None,
        "REDIS_URL": None,
        "COOLING_OFF_MINUTES": 60,
        "FEEDBACK_DAYS_DEFAULT": 5,
        "TERMINATION_LIMIT": 1,
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        # Hashing with scrypt costs ~50 ms a login; tests make many.
        "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    if url.startswith("postgresql"):
        # Race tests open 20+ sessions at once; the default pool (5 + 10) would queue them.
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 30, "max_overflow": 10, "pool_timeout": 60}
    app = create_app(overrides)
    with app.app_context():
        if url.startswith("sqlite"):
            # A throw-away file: skip fsync on every commit (factories commit a lot).
            @event.listens_for(db.engine, "connect")
            def _fast_sqlite(dbapi_connection, _record):
                dbapi_connection.execute("PRAGMA synchronous=OFF")

            db.engine.dispose()
        if url.startswith("postgresql"):
            Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles(app.appbuilder)
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


_WIPE = {}


def wipe(app):
    """Delete every data row; keep FAB's roles and permissions.

    PostgreSQL: plain DELETEs plus a sequence reset in one transaction — TRUNCATE … RESTART
    IDENTITY gives the same result but costs ~0.5 s a test (new files for every table)."""
    from flask_appbuilder import Model

    from app import caching
    from app.extensions import db

    tables = [t for t in Model.metadata.sorted_tables if t.name not in KEEP_TABLES]
    for cache in ("filter_options", "stats_cache"):  # keyed by ids and filters the next test reuses
        caching.forget(cache)
    with db.engine.begin() as conn:
        for table in reversed(tables):
            conn.execute(table.delete())
        if conn.dialect.name == "postgresql":
            if "sequences" not in _WIPE:
                kept = {f"{name}_id_seq" for name in KEEP_TABLES}
                _WIPE["sequences"] = [
                    name for name in conn.scalars(text(
                        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"))
                    if name not in kept
                ]
            if _WIPE["sequences"]:
                conn.execute(text("SELECT setval(quote_ident(s), 1, false) FROM unnest(CAST(:seqs AS text[])) AS s"),
                             {"seqs": _WIPE["sequences"]})


@pytest.fixture(autouse=True)
def app_ctx(app):
    """An app context for every test, on a clean database."""
    from app.extensions import db

    with app.app_context():
        yield
        db.session.remove()
    with app.app_context():
        wipe(app)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def login():
    """`login(client, username, password=PASSWORD)`; asserts the login worked."""
    return _login


@pytest.fixture
def password():
    return PASSWORD
