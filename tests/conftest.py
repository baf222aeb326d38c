"""Shared fixtures (STYLE.md "Tests"): one app per session, a clean database per test.

The database is `TEST_DATABASE_URL` (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) or,
by default, a fresh SQLite file in pytest's tmp dir. Tables are created from FAB's
`Model.metadata` (STACK-NOTES: `db.create_all()` would create nothing), roles and permissions once
per session; after each test every data row is wiped except FAB's permission/role tables.

Helpers live in `tests/support/` (plain functions, see its __init__): factories, the scene builder,
the checks that read the database back. The fixtures here:
    app, client, login, password     the app, a test client, `login(client, username)`, PASSWORD
    w                                scene(other_school=True): the common scene of the rule tests
    signed                           scene("certified", other_school=True): w.agreement is certified
    no_cooling_off                   COOLING_OFF_MINUTES = 0 for this test (R5 is a setting)
    limited_app                      a second app on the same database with the rate limiter on
    stats_world                      the hand-counted data set of tests/support/stats_world.py
    smtp, redis_queue                a local SMTP stub; a private Redis queue (skips without Redis)
"""
import pytest
from sqlalchemy import event, text

from tests.support.database import database_url
from tests.support.factories import PASSWORD, login as _login
from tests.support.scenes import scene
from tests.support.web import IsolatedClient  # (also bench/documents.py's import)

# FAB's permission tables survive between tests (sync_roles is slow-ish and idempotent).
KEEP_TABLES = {"ab_permission", "ab_view_menu", "ab_permission_view", "ab_role", "ab_permission_view_role"}


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
    for cache in ("filter_options", "stats_cache", "site_identity"):  # keyed by ids and filters the next test reuses
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


# ---------------------------------------------------------------- scenes and data sets

@pytest.fixture
def w():
    """武汉大学 with its reviewer, an approved employer, one verified student, a login for every party
    (so notifications have somewhere to go), and 华中科技大学 with its own reviewer."""
    return scene(other_school=True)


@pytest.fixture
def signed():
    """As `w`, and w.student holds a certified electronic agreement (w.agreement) with w.employer,
    sent NOW, accepted two hours and certified three hours later."""
    return scene("certified", other_school=True)


@pytest.fixture
def stats_world():
    from tests.support.stats_world import build

    return build()


# ---------------------------------------------------------------- settings

@pytest.fixture
def clock(monkeypatch):
    """`clock(minutes=…)` moves app.security's clock (sessions, lockouts) that far from the real time."""
    from datetime import timedelta

    from app import security
    from app.models import utcnow

    def move(**delta):
        moment = utcnow() + timedelta(**delta)
        monkeypatch.setattr(security, "now", lambda: moment)

    return move


@pytest.fixture
def no_cooling_off(app, monkeypatch):
    """Students may accept at once (the web tests send offers at the real time)."""
    monkeypatch.setitem(app.config, "COOLING_OFF_MINUTES", 0)


@pytest.fixture
def limited_app(app):
    """A second app on the same database with the limiter switched on at start (Flask-Limiter
    reads RATELIMIT_ENABLED once, in init_app): 3 searches, 3 verifications, 5 logins a minute."""
    from app import create_app
    from app.extensions import db

    keys = ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "FAB_PASSWORD_HASH_METHOD", "SQLALCHEMY_ENGINE_OPTIONS")
    overrides = {k: app.config[k] for k in keys if k in app.config}
    overrides.update(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=True,
                     RATELIMIT_STORAGE_URI="memory://", SEARCH_RATE_LIMIT="3 per minute",
                     VERIFY_RATE_LIMIT="3 per minute", AUTH_RATE_LIMIT="5 per minute")
    limited = create_app(overrides)
    limited.test_client_class = IsolatedClient
    with limited.app_context():
        yield limited
        db.session.remove()


# ---------------------------------------------------------------- jobs: mail and Redis

@pytest.fixture
def smtp(app, monkeypatch):
    """A running SmtpStub (tests/support/jobs.py), the app's MAIL_* settings pointing at it."""
    from tests.support.jobs import SmtpStub, point_mail_at

    stub = SmtpStub()
    point_mail_at(app, monkeypatch, stub)
    yield stub
    stub.close()


@pytest.fixture
def redis_queue(app, monkeypatch):
    """Real Redis (private db), the app's REDIS_URL pointing at it, and a queue name of its own
    (all three queue kinds — mail, default, bulk — are that one queue)."""
    from tests.support.jobs import REDIS_URL, delete_queue, new_queue_name, redis_or_skip

    conn = redis_or_skip()
    name = new_queue_name()
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    for setting in ("RQ_QUEUE", "RQ_MAIL_QUEUE", "RQ_BULK_QUEUE"):
        monkeypatch.setitem(app.config, setting, name)
    yield name
    delete_queue(conn, name)
