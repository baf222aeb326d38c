"""Extension objects without an app; `create_app()` binds them.

AppBuilder itself is built inside `create_app()` (a module-level one breaks a second app in
one process, STACK-NOTES), so only app-independent extensions live here.
"""
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

db = SQLA()
migrate = Migrate()
csrf = CSRFProtect()
