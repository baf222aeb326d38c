"""Settings, all read from the environment (DESIGN.md §6).

`create_app(overrides)` applies `overrides` after this module, so tests can swap the database.
"""
import os

from flask_appbuilder.const import AUTH_DB

from app.passwords import password_validator as _password_validator

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
INSTANCE_DIR = os.path.join(BASE_DIR, "instance")


def _int(name, default):
    return int(os.environ.get(name, default))


def _bool(name, default):
    return os.environ.get(name, str(default)).lower() in ("1", "true", "yes", "on")


SQLALCHEMY_DATABASE_URI = os.environ.get(
    "DATABASE_URL", "sqlite:///" + os.path.join(INSTANCE_DIR, "app.db")
)
SQLALCHEMY_TRACK_MODIFICATIONS = False
REDIS_URL = os.environ.get("REDIS_URL") or None
def _secret_key():
    """SECRET_KEY from the environment; otherwise a random key kept in instance/secret_key, so a
    deployment without the variable never signs sessions with a key printed in the source."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = os.path.join(INSTANCE_DIR, "secret_key")
    try:
        with open(path) as fh:
            return fh.read().strip()
    except FileNotFoundError:
        import secrets

        os.makedirs(INSTANCE_DIR, mode=0o700, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it first: use that one
            return _secret_key()
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key


SECRET_KEY = _secret_key()

# Where the app runs: "development" (`make run`, `make migrate`, `make seed` set it; FLASK_DEBUG=1
# and TESTING count too) or anything else, taken as production. In production create_app refuses to
# start without SECRET_KEY in the environment: the per-instance key above differs on every host,
# so sessions signed by one host fail on the next (app/__init__.py _check_startup).
APP_ENV = os.environ.get("APP_ENV", "production")

# Observability (app/observability.py). LOG_FORMAT: "json" (one JSON object a line, with request_id
# and job_id) or "text" (Python's and Flask's plain logging); unset: "text" in development and the
# tests, "json" elsewhere. METRICS_TOKEN: unset, /metrics answers only loopback requests that no proxy
# forwarded; set, also requests sending `Authorization: Bearer <token>`. PROMETHEUS_MULTIPROC_DIR is
# read by prometheus_client itself (deploy/gunicorn.conf.py): with several processes, the folder
# where each writes its metrics for the scrape to add up.
LOG_FORMAT = os.environ.get("LOG_FORMAT") or None
METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None

# Business settings (R4, R5, R12).
TIMEZONE = "Asia/Shanghai"
COOLING_OFF_MINUTES = _int("COOLING_OFF_MINUTES", 60)
FEEDBACK_DAYS_DEFAULT = _int("FEEDBACK_DAYS_DEFAULT", 5)
TERMINATION_LIMIT = _int("TERMINATION_LIMIT", 1)
SEARCH_RATE_LIMIT = os.environ.get("SEARCH_RATE_LIMIT", "30 per minute")
# 单位注册 per client address (the public form; abuse and enumeration).
REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "5 per hour")
# R18: after a school (or the roster) changes a verified student's phone, the new phone may set the
# account's password only this many hours later (the student is told on the previous contact).
CONTACT_HOLD_HOURS = int(os.environ.get("CONTACT_HOLD_HOURS", "72"))
PAGE_SIZE = _int("PAGE_SIZE", 20)
PAGE_SIZE_MAX = _int("PAGE_SIZE_MAX", 100)
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8080")
# Number of reverse proxies in front of the app (0: none). Set it when deployed behind nginx, so
# per-IP limits (/verify, SMS, search) see the client's address, not the proxy's.
PROXY_FIX_HOPS = _int("PROXY_FIX_HOPS", 0)

# Uploaded proofs (纸质签约 scans, 解约 release letters, 其他去向 proofs): PDF/JPEG/PNG by content.
UPLOAD_DIR = os.environ.get("UPLOAD_DIR", os.path.join(INSTANCE_DIR, "uploads"))
UPLOAD_MAX_BYTES = _int("UPLOAD_MAX_BYTES", 5 * 1024 * 1024)
# Export files and import files (uploads/exports, uploads/imports) hold personal data: the daily
# purge_old_files job (app/jobs/files.py) deletes them after this many days. Proofs stay.
EXPORT_RETENTION_DAYS = _int("EXPORT_RETENTION_DAYS", 7)

# Spreadsheet imports (imports/): caps checked before and while parsing.
IMPORT_MAX_BYTES = _int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
IMPORT_MAX_ROWS = _int("IMPORT_MAX_ROWS", 50_000)
IMPORT_MAX_UNZIPPED_BYTES = _int("IMPORT_MAX_UNZIPPED_BYTES", 200 * 1024 * 1024)
IMPORT_MAX_ZIP_RATIO = _int("IMPORT_MAX_ZIP_RATIO", 100)
IMPORT_ASYNC_ROWS = _int("IMPORT_ASYNC_ROWS", 5_000)
# A candidate list is a bulk 签约搜索: rows an employer may import per day (R2's rate limit in bulk).
CANDIDATE_IMPORT_DAILY_ROWS = _int("CANDIDATE_IMPORT_DAILY_ROWS", 20_000)
# The whole request body: the largest upload (an import file) plus room for the form fields, so an
# oversized upload is refused (413) before anything is written to disk.
MAX_CONTENT_LENGTH = max(IMPORT_MAX_BYTES, UPLOAD_MAX_BYTES) + 1024 * 1024

# Mail (the outbox is sent by a job; without MAIL_SERVER rows stay pending and show in-app).
MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
MAIL_PORT = _int("MAIL_PORT", 25)
MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
MAIL_FROM = os.environ.get("MAIL_FROM", "noreply@jiuye.example.cn")
# The sender (app.jobs.mail): seconds to wait for the SMTP server on each step; rows claimed per
# batch (one connection each); a claim older than MAIL_CLAIM_SECONDS belongs to a dead worker.
MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 10)
MAIL_BATCH = _int("MAIL_BATCH", 200)
MAIL_CLAIM_SECONDS = _int("MAIL_CLAIM_SECONDS", 600)
# Temporary failures retry by time: the n-th failure waits the n-th step (seconds; the last one
# repeats), until MAIL_GIVE_UP_HOURS after the first failure; then the row is 发送失败.
MAIL_RETRY_BACKOFF = [int(x) for x in os.environ.get("MAIL_RETRY_BACKOFF", "60,300,900,3600,10800,21600").split(",")]
MAIL_GIVE_UP_HOURS = _int("MAIL_GIVE_UP_HOURS", 24)
# More than this many notices to one address in one sweep go out as one digest mail (0: never).
MAIL_DIGEST_THRESHOLD = _int("MAIL_DIGEST_THRESHOLD", 3)

# rq (app.jobs): the three queues (mail; expiry, reminders and sweeps; imports and exports) and
# the timeout of a job run. A running run whose worker is silent for RUN_STALE_SECONDS is failed.
RQ_QUEUE = os.environ.get("RQ_QUEUE", "default")
RQ_MAIL_QUEUE = os.environ.get("RQ_MAIL_QUEUE", "mail")
RQ_BULK_QUEUE = os.environ.get("RQ_BULK_QUEUE", "bulk")
JOB_TIMEOUT = _int("JOB_TIMEOUT", 3600)
RUN_STALE_SECONDS = _int("RUN_STALE_SECONDS", 40)

# Reminders (each sent once).
EXPIRY_REMINDER_HOURS = _int("EXPIRY_REMINDER_HOURS", 24)
TERMINATION_REMINDER_DAYS = _int("TERMINATION_REMINDER_DAYS", 3)
REVIEW_REMINDER_WORKDAYS = _int("REVIEW_REMINDER_WORKDAYS", 5)

# SMS for 信息验证 (app.sms): "dev" records messages in the SMS outbox only; "http" posts to a
# provider (SMS_HTTP_URL, bearer SMS_HTTP_TOKEN). Codes: 6 digits, SMS_CODE_MINUTES valid, single use.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "dev")
SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL") or None
SMS_HTTP_TOKEN = os.environ.get("SMS_HTTP_TOKEN") or None
SMS_SIGN = os.environ.get("SMS_SIGN", "【湖北高校就业网络联盟】")
SMS_CODE_MINUTES = _int("SMS_CODE_MINUTES", 5)
SMS_PER_PHONE_MINUTE = _int("SMS_PER_PHONE_MINUTE", 1)
SMS_PER_PHONE_DAY = _int("SMS_PER_PHONE_DAY", 10)
SMS_PER_IP_HOUR = _int("SMS_PER_IP_HOUR", 30)
SMS_MAX_ATTEMPTS = _int("SMS_MAX_ATTEMPTS", 5)
# 忘记密码 / 账号激活 (app/views/recovery.py): an employer's e-mailed link lives this long and works
# once; requests are limited per client address and per account.
RESET_LINK_MINUTES = _int("RESET_LINK_MINUTES", 30)
RECOVERY_RATE_LIMIT = os.environ.get("RECOVERY_RATE_LIMIT", "5 per minute;30 per hour")
RECOVERY_PER_ACCOUNT_LIMIT = os.environ.get("RECOVERY_PER_ACCOUNT_LIMIT", "3 per hour")
SMS_RATE_LIMIT = os.environ.get("SMS_RATE_LIMIT", "5 per minute")

# Agreement PDF and public verification (app.documents).
WKHTMLTOPDF = os.environ.get("WKHTMLTOPDF", "/usr/bin/wkhtmltopdf")
PDF_TIMEOUT_SECONDS = _int("PDF_TIMEOUT_SECONDS", 60)
VERIFY_RATE_LIMIT = os.environ.get("VERIFY_RATE_LIMIT", "20 per minute")

# Flask-AppBuilder
APP_NAME = "就业协议网上签约系统"
AUTH_TYPE = AUTH_DB
AUTH_USER_REGISTRATION = False
AUTH_ROLE_ADMIN = "admin"
AUTH_ROLE_PUBLIC = "public"
# Migrations own the schema; FAB must not create tables behind Alembic's back (STACK-NOTES).
FAB_CREATE_DB = False
# Permissions are synced by `flask roles sync` (run by `make migrate` and the tests), not at
# every start: a start against an empty database must not crash.
FAB_UPDATE_PERMS = _bool("FAB_UPDATE_PERMS", False)
FAB_SECURITY_MANAGER_CLASS = "app.security.AppSecurityManager"
FAB_INDEX_VIEW = "app.views.home.HomeIndexView"
FAB_ADD_SECURITY_API = False
# OpenAPI (issue 21): FAB's /api/v1/_openapi document and /swagger/v1, for logged-in administrators
# (FAB's OpenApi and SwaggerView permissions; no other role is granted them).
FAB_API_SWAGGER_UI = True
# FAB's own API keys (ab_api_key: per login, scrypt per call, no address list) stay off; ours are
# app.apikeys (api_key table), checked by app/views/api.py.
FAB_API_KEY_ENABLED = False
# The open API (app/views/api.py): calls per key; the changes feed's largest page and how old an
# event must be before the feed shows it (a transaction that commits late cannot slip behind a cursor).
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "120 per minute;5000 per hour")
API_CHANGES_PAGE_MAX = _int("API_CHANGES_PAGE_MAX", 500)
API_CHANGES_SETTLE_SECONDS = _int("API_CHANGES_SETTLE_SECONDS", 2)
# An Idempotency-Key whose first request has run this long without an answer (its process died
# mid-request) is taken over by the next request with it, instead of answering 409 forever.
# Longer than any request may run (GUNICORN_TIMEOUT, 90 s).
API_IDEMPOTENCY_STALE_SECONDS = _int("API_IDEMPOTENCY_STALE_SECONDS", 300)
FAB_PASSWORD_COMPLEXITY_ENABLED = True
# FAB calls it: the function itself, not its dotted name (a string → 500 on every FAB password form).
FAB_PASSWORD_COMPLEXITY_VALIDATOR = _password_validator
FAB_SAFE_REDIRECT_HOSTS = ["127.0.0.1", "localhost"]
# Permission checks answered from memory for this long per (view, permission, roles): FAB asks the
# database on every check. A change in this process clears it at once; other processes within this
# many seconds. 0: no cache (app/security.py).
PERMISSION_CACHE_SECONDS = int(os.environ.get("PERMISSION_CACHE_SECONDS", "60"))
# 联盟标识 (app/identity.py), read by every page's header: remembered per process this long.
IDENTITY_CACHE_SECONDS = int(os.environ.get("IDENTITY_CACHE_SECONDS", "60"))
# Statistics pages read the summary (app/summary.py, at most a minute old). Only a date-range view,
# which the summary does not keep, is computed from the base tables, and kept per filter set per
# process for this long (app/stats.py dashboard_cached). 0: on every request.
STATS_CACHE_SECONDS = int(os.environ.get("STATS_CACHE_SECONDS", "60"))
# 签约审核's 院系/专业 choices per school, per process (app/views/school.py filter_options).
FILTER_OPTIONS_CACHE_SECONDS = int(os.environ.get("FILTER_OPTIONS_CACHE_SECONDS", "300"))
AUTH_RATE_LIMITED = True
AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per 20 second")
RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", REDIS_URL or "memory://")
# Redis down: Flask-Limiter counts in this process's memory until it answers again (the login,
# FAB's AUTH_RATE_LIMIT, keeps working); the app's own limit checks do the same (views.common.rate_allowed).
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
RATELIMIT_SWALLOW_ERRORS = True
BABEL_DEFAULT_LOCALE = "zh"
# Our additions to FAB's zh catalogue (app/translations; `pybabel compile -d app/translations`).
BABEL_TRANSLATION_DIRECTORIES = os.path.join(BASE_DIR, "app", "translations")
BABEL_DEFAULT_TIMEZONE = TIMEZONE
LANGUAGES = {"zh": {"flag": "cn", "name": "中文"}}
APP_THEME = ""

WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True

# Sessions (app/security.py): a user_session row per login, checked on every request. It ends at
# logout, at a password change (the other sessions), after SESSION_ABSOLUTE_HOURS from the login
# or SESSION_IDLE_MINUTES without a request (last_seen_at is written at most every
# SESSION_TOUCH_SECONDS). The cookie itself is a browser-session cookie whose signature Flask
# refuses after PERMANENT_SESSION_LIFETIME. Flask-Login's remember cookie is never set nor honoured.
SESSION_ABSOLUTE_HOURS = _int("SESSION_ABSOLUTE_HOURS", 12)
SESSION_IDLE_MINUTES = _int("SESSION_IDLE_MINUTES", 30)
SESSION_TOUCH_SECONDS = _int("SESSION_TOUCH_SECONDS", 60)
from datetime import timedelta as _timedelta  # noqa: E402

PERMANENT_SESSION_LIFETIME = _timedelta(hours=SESSION_ABSOLUTE_HOURS)
REMEMBER_COOKIE_DURATION = _timedelta(seconds=0)
if PUBLIC_BASE_URL.startswith("https://"):
    # __Host-: the browser keeps it only when Secure, Path=/ and without Domain (no subdomain can set it).
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_SECURE = True
# Per-account lockout (app/security.py), in the database: LOGIN_LOCK_THRESHOLD failures in a row
# lock the login for LOGIN_LOCK_BASE_SECONDS, each further lock twice as long, at most
# LOGIN_LOCK_MAX_SECONDS; a successful login or an administrator's 解除锁定 starts again.
LOGIN_LOCK_THRESHOLD = _int("LOGIN_LOCK_THRESHOLD", 5)
LOGIN_LOCK_BASE_SECONDS = _int("LOGIN_LOCK_BASE_SECONDS", 60)
LOGIN_LOCK_MAX_SECONDS = _int("LOGIN_LOCK_MAX_SECONDS", 3600)
FAB_BASE_TEMPLATE = "portal/fab_base.html"
