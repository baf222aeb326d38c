"""Roles, passwords and party scoping.

Each login belongs to one party (DESIGN.md §1): `current_party()` returns it, and every view
builds its queries from it, so another party's id simply is not found (404).
"""
import re

from flask import abort, g
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_login import current_user
from sqlalchemy import select
from wtforms.validators import ValidationError

from .extensions import db
from .models import AppUser, Employer, School, Student

ROLE_EMPLOYER, ROLE_STUDENT, ROLE_SCHOOL, ROLE_PROVINCE, ROLE_ADMIN = (
    "employer", "student", "school", "province", "admin",
)
ROLE_LABELS = {
    ROLE_EMPLOYER: "用人单位", ROLE_STUDENT: "毕业生", ROLE_SCHOOL: "学校就业部门",
    ROLE_PROVINCE: "省就业中心", ROLE_ADMIN: "系统管理员",
}

# Least privilege: each role gets its own portal's permissions and nothing else
# (FAB's own profile/password screens are shared). Admin gets everything.
_SELF_SERVICE = [
    ("can_this_form_get", "ResetMyPasswordView"), ("can_this_form_post", "ResetMyPasswordView"),
    ("can_userinfo", "UserDBModelView"), ("resetmypassword", "UserDBModelView"),
]
ROLE_VIEWS = {
    ROLE_EMPLOYER: ["EmployerPortal", "EmployerImportView", "EmployerExportView", "DocumentView", "JobRunView"],
    ROLE_STUDENT: ["StudentPortal", "DocumentView"],
    ROLE_SCHOOL: ["SchoolPortal", "SchoolStudentView", "SchoolImportView", "DocumentView", "JobRunView",
                  "SchoolStatsView"],
    ROLE_PROVINCE: ["ProvincePortal", "ProvinceStatsView", "JobRunView", "QueueAdminView"],
}

_PASSWORD_RULE = "密码至少8位，且须同时包含大写字母、小写字母和数字"


def password_problem(password):
    """Complexity rule for every password, whether typed in a form or set by code/import."""
    if (not password or len(password) < 8 or not re.search(r"[a-z]", password)
            or not re.search(r"[A-Z]", password) or not re.search(r"\d", password)):
        return _PASSWORD_RULE
    return None


def password_validator(password):
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR (forms)."""
    problem = password_problem(password)
    if problem:
        raise ValidationError(problem)


class AppSecurityManager(SecurityManager):
    user_model = AppUser

    def add_user(self, username, first_name, last_name, email, role, password="", hashed_password="", **kw):
        # FAB checks complexity only in forms (STACK-NOTES); accounts made by code obey it too.
        if password and password_problem(password):
            raise ValueError(_PASSWORD_RULE)
        return super().add_user(username, first_name, last_name, email, role, password, hashed_password, **kw)


def sync_roles(appbuilder):
    """Create our roles and give each exactly its views' permissions. Idempotent."""
    sm = appbuilder.sm
    for role_name in (ROLE_EMPLOYER, ROLE_STUDENT, ROLE_SCHOOL, ROLE_PROVINCE, ROLE_ADMIN):
        sm.find_role(role_name) or sm.add_role(role_name)
    appbuilder.add_permissions(update_perms=True)
    from flask_appbuilder.security.sqla.models import PermissionView

    pvs = db.session.scalars(select(PermissionView)).all()
    for role_name in (ROLE_EMPLOYER, ROLE_STUDENT, ROLE_SCHOOL, ROLE_PROVINCE, ROLE_ADMIN):
        role = sm.find_role(role_name) or sm.add_role(role_name)
        if role_name == ROLE_ADMIN:
            wanted = list(pvs)
        else:
            views = set(ROLE_VIEWS[role_name])
            wanted = [pv for pv in pvs if pv.view_menu.name in views
                      or (pv.permission.name, pv.view_menu.name) in _SELF_SERVICE]
        role.permissions = wanted
    db.session.commit()


# ---------------------------------------------------------------- party of the current login

def role_of(user=None):
    user = user or current_user
    names = {r.name for r in getattr(user, "roles", [])}
    for role in (ROLE_ADMIN, ROLE_PROVINCE, ROLE_SCHOOL, ROLE_EMPLOYER, ROLE_STUDENT):
        if role in names:
            return role
    return None


def current_student():
    if not current_user.is_authenticated or not current_user.student_id:
        abort(404)
    return _cached("student", Student, current_user.student_id)


def current_employer():
    if not current_user.is_authenticated or not current_user.employer_id:
        abort(404)
    return _cached("employer", Employer, current_user.employer_id)


def current_school():
    if not current_user.is_authenticated or not current_user.school_id:
        abort(404)
    return _cached("school", School, current_user.school_id)


def _cached(key, model, pk):
    cache = g.setdefault("_party", {})
    if key not in cache:
        cache[key] = db.session.get(model, pk) or abort(404)
    return cache[key]


def scoped_one(query):
    """Run a query already filtered to the acting party; outside it → 404 (ids cannot be probed)."""
    row = db.session.execute(query).scalars().first()
    if row is None:
        abort(404)
    return row
