"""Application factory (DESIGN.md §6)."""
import os

from flask import Flask
from werkzeug.routing import IntegerConverter
from flask_appbuilder import AppBuilder

from .extensions import csrf, db, migrate


class _Int32Converter(IntegerConverter):
    """<int:…> ids fit PostgreSQL's integer: /offers/99999999999 is a 404, not a database error."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(overrides=None):
    app = Flask(__name__, instance_relative_config=False)
    app.url_map.converters["int"] = _Int32Converter
    app.config.from_object("config")
    if overrides:
        app.config.update(overrides)
    from .observability import init_logging, init_observability

    init_logging(app, app.config.get("LOG_FORMAT") or ("text" if is_development(app) else "json"))
    _check_startup(app, overrides or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        _private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):])
        # SQLite: wait for the writer instead of failing with "database is locked".
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    # A connection the database dropped (restart, failover, pgbouncer) is replaced before use instead
    # of failing the request that draws it from the pool.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}

    if app.config.get("PROXY_FIX_HOPS"):
        # Behind a reverse proxy: client addresses (rate limits per IP, SMS limits) come from
        # X-Forwarded-For, trusted for exactly this many proxies.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from .assets import init_assets
    from .headers import init_headers

    init_observability(app)  # first of all: the request id and the clock start before any other hook
    init_headers(app)  # next: its nonce and https redirect come before any extension's hook
    init_assets(app)  # far-future Cache-Control on fingerprinted static files (app/assets.py)
    db.init_app(app)
    csrf.init_app(app)
    # migrations/env.py targets flask_appbuilder.Model.metadata (our tables are not on db.metadata).
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))

    with app.app_context():
        from . import models  # noqa: F401  (tables on Model.metadata before FAB looks)

        appbuilder = AppBuilder(app, db.session)
        from .views import register_views

        register_views(appbuilder)

    _register_request_hooks(app)
    from .cli import register_cli
    from .templating import register_template_helpers

    register_template_helpers(app)
    register_cli(app)
    return app


def is_development(app):
    """`make run` (APP_ENV=development), FLASK_DEBUG=1 or the tests (TESTING)."""
    return app.config.get("APP_ENV") == "development" or app.debug or app.testing


def _check_startup(app, overrides):
    """Production (not is_development) needs SECRET_KEY from the environment (or the caller):
    config.py's fallback key is made per instance folder, so every host would sign with its own.
    A memory:// rate-limit store counts per process: with several gunicorn workers a limit is
    multiplied by their number, so that is logged."""
    development = is_development(app)
    if not development and not (os.environ.get("SECRET_KEY") or overrides.get("SECRET_KEY")):
        raise RuntimeError(
            "SECRET_KEY 未设置：生产环境须在环境变量中设置 SECRET_KEY（所有主机和 worker 使用同一值）；"
            "开发时请设置 APP_ENV=development（make run 已设置）。")
    workers = int(os.environ.get("WEB_CONCURRENCY") or 1)
    if (app.config.get("RATELIMIT_ENABLED") and str(app.config.get("RATELIMIT_STORAGE_URI")).startswith("memory://")
            and (workers > 1 or not development)):
        app.logger.warning("RATELIMIT_STORAGE_URI is memory://: every process counts its own limits (login, "
                           "search, SMS); with several gunicorn workers or hosts set it to Redis (REDIS_URL)")


def _private_sqlite_file(path):
    """The SQLite file holds every student's personal data: 0600, in a 0700 folder when we make it."""
    if not path or path.startswith(":memory:") or path.startswith("file:"):
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)  # SQLite accepts an empty file as a new database
        os.close(fd)
        os.chmod(path, 0o600)  # also a file made before this check (0644)
    except PermissionError:  # not ours to change: say so, start anyway
        import logging

        logging.getLogger(__name__).warning("cannot make %s private (0600)", path)


def _register_request_hooks(app):
    """Every before/after-request hook and error handler of the app, registered here and nowhere
    else (no module registers one as a side effect of being imported or of adding its views), but
    for init_observability's and init_headers', which create_app registers before all others.
    Order matters: the extensions' hooks come first (CSRF at csrf.init_app; FAB's rate limiter and
    g.user at AppBuilder()), then ours: the NUL-byte refusal, malformed FAB list arguments, the session check
    (app/security.py), 请先登录 for a logged-out visitor, the first-login guard."""
    from .security import ask_to_log_in, enforce_session
    from .views.account import first_login_guard, refuse_nul_bytes
    from .views.common import refuse_malformed_list_args

    app.before_request(refuse_nul_bytes)
    app.before_request(refuse_malformed_list_args)
    app.before_request(enforce_session)
    app.before_request(ask_to_log_in)
    app.before_request(first_login_guard)
    _register_error_pages(app)


ERROR_MESSAGES = {
    400: "请求有误，请检查输入后重试",
    403: "没有访问权限",
    404: "页面不存在，或您无权查看该内容",
    405: "不支持该操作方式",
    413: "上传的文件过大",
    429: "操作过于频繁，请稍后再试",
    500: "系统繁忙，请稍后再试；如问题持续，请联系管理员",
}


def _register_error_pages(app):
    """403/404/413/429/500 … as a Chinese page in the portal's layout, not Werkzeug's English one."""
    from flask import render_template, request
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code is None or error.code < 400:
            return error
        # A view that answered with its own short text (e.g. 400 for a NUL byte) keeps it.
        message = ERROR_MESSAGES.get(error.code, "请求无法完成")
        from flask import g

        # 5xx: the request id (X-Request-ID, on every log line of the request) is the reference the
        # user quotes to the administrator (app/observability.py).
        reference = g.get("request_id") if error.code >= 500 else None
        if request.path.startswith("/api/"):  # the open API answers in RFC 9457 problem documents
            from .views.api import problem

            return problem(error.code, kind="not-found" if error.code == 404 else None,
                           headers={"Retry-After": "60"} if error.code == 429 else None)
        if request.path.endswith(".json") or request.accept_mimetypes.best == "application/json":
            return ({"error": message, "reference": reference} if reference else {"error": message}), error.code
        from flask_login import current_user

        if error.code >= 500:  # a failed statement leaves PostgreSQL's transaction unusable
            try:
                db.session.rollback()
            except Exception:  # noqa: BLE001 — database gone: the fallback page below still answers
                app.logger.exception("rollback before the error page failed")

        if not hasattr(g, "user"):  # refused before FAB's before_request ran (e.g. CSRF)
            g.user = current_user
        try:
            return render_template("portal/error.html", code=error.code, message=message, reference=reference,
                                   appbuilder=app.appbuilder, base_template=app.appbuilder.base_template), error.code
        except Exception:  # noqa: BLE001 — the error page itself must not fail (e.g. database down)
            app.logger.exception("error page failed")
            note = f"<p>参考编号 {reference}</p>" if reference else ""  # a sane token (observability)
            return (f"<!doctype html><meta charset=utf-8><p>{message}</p>{note}<p><a href='/'>返回首页</a></p>",
                    error.code)

