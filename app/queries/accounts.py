"""系统管理员's reads over the logins: accounts per role and how recently they logged in (角色列表,
用户统计). One grouped scan of the role–user link; no per-request cache: an admin page."""
from datetime import timedelta

from flask_appbuilder.security.sqla.models import Role, assoc_user_role
from sqlalchemy import case, func, select

from ..extensions import db
from ..models import AppUser
from ..roles import ROLES

RECENT_DAYS = (1, 7, 30)


def accounts_by_role(now):
    """{role name: {"total", "active", "inactive", "locked", "never", "recent": {days: n}}} for every
    role of `roles.ROLES` (a role without accounts counts zeros)."""
    def flag(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    columns = [func.count(AppUser.id), flag(AppUser.active.is_(True)), flag(AppUser.locked_until > now),
               flag(AppUser.last_login.is_(None))]
    columns += [flag(AppUser.last_login >= now - timedelta(days=days)) for days in RECENT_DAYS]
    rows = db.session.execute(
        select(Role.name, *columns)
        .join(assoc_user_role, assoc_user_role.c.role_id == Role.id)
        .join(AppUser, AppUser.id == assoc_user_role.c.user_id)
        .group_by(Role.name)).all()
    found = {name: values for name, *values in rows}
    out = {}
    for name in ROLES:
        total, active, locked, never, *recent = found.get(name, [0] * (4 + len(RECENT_DAYS)))
        out[name] = {"total": total, "active": active, "inactive": total - active, "locked": locked,
                     "never": never, "recent": dict(zip(RECENT_DAYS, recent))}
    return out
