"""Alembic environment for Flask-Migrate (`flask db …`).

Why this differs from the generated template:
- Our models (and FAB's own ab_* security tables) live on Flask-AppBuilder's declarative base,
  `flask_appbuilder.Model`, whose metadata is NOT `db.metadata` (STACK-NOTES): the template's
  `target_db.metadata` is empty and autogenerate would want to drop every table. So app.models is
  imported first (it also imports FAB's security models) and `Model.metadata` is the target.
- Migrations own the schema (config.FAB_CREATE_DB = False): FAB never creates tables at start-up.
- SQLite cannot ALTER most things, so operations are rendered as batch ("move and copy") there;
  the partial unique indexes (R3, R6, R11) carry both `postgresql_where` and `sqlite_where`.
"""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
fileConfig(config.config_file_name)
logger = logging.getLogger("alembic.env")


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")


config.set_main_option("sqlalchemy.url", get_engine_url())


def get_metadata():
    import app.models  # noqa: F401  (registers every table on Model.metadata)
    from flask_appbuilder import Model

    return Model.metadata


def _configure_args(dialect_name):
    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("compare_type", True)
    args["render_as_batch"] = dialect_name == "sqlite"
    return args


def run_migrations_offline():
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True,
        **_configure_args(url.split(":", 1)[0].split("+", 1)[0]),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    # Do not write an empty revision when nothing changed (Alembic cookbook).
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    connectable = get_engine()
    with connectable.connect() as connection:
        conf_args = _configure_args(connection.dialect.name)
        conf_args.setdefault("process_revision_directives", process_revision_directives)
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
