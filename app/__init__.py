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

    from .cli import register_cli
    from .templating import register_template_helpers

    register_template_helpers(app)
    register_cli(app)
    return app
