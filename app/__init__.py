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
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(os.path.dirname(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):]) or ".",
                    exist_ok=True)
        # SQLite: wait for the writer instead of failing with "database is locked".
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})

    if app.config.get("PROXY_FIX_HOPS"):
        # Behind a reverse proxy: client addresses (rate limits per IP, SMS limits) come from
        # X-Forwarded-For, trusted for exactly this many proxies.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

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


def _register_request_hooks(app):
    """Every before/after-request hook and error handler of the app, registered here and nowhere
    else (no module registers one as a side effect of being imported or of adding its views).
    Order matters: the extensions' hooks come first (CSRF at csrf.init_app; FAB's rate limiter and
    g.user at AppBuilder()), then ours: the NUL-byte refusal, the session check (app/security.py), the first-login guard."""
    from .security import enforce_session
    from .views.account import first_login_guard, refuse_nul_bytes

    app.before_request(refuse_nul_bytes)
    app.before_request(enforce_session)
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
        if request.path.endswith(".json") or request.accept_mimetypes.best == "application/json":
            return {"error": message}, error.code
        from flask import g
        from flask_login import current_user

        if not hasattr(g, "user"):  # refused before FAB's before_request ran (e.g. CSRF)
            g.user = current_user
        try:
            return render_template("portal/error.html", code=error.code, message=message, appbuilder=app.appbuilder,
                                   base_template=app.appbuilder.base_template), error.code
        except Exception:  # noqa: BLE001 — the error page itself must not fail (e.g. database down)
            app.logger.exception("error page failed")
            return f"<!doctype html><meta charset=utf-8><p>{message}</p><p><a href='/'>返回首页</a></p>", error.code

