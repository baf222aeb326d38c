"""The login, the security manager, party scoping and safe redirects.

Each login belongs to one party (DESIGN.md §1): `current_party()` returns it, and every view
builds its queries from it, so another party's id simply is not found (404).
"""
from urllib.parse import urlsplit, urlunsplit

from flask import abort, flash, g, has_app_context, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_appbuilder.security.views import ResetMyPasswordView as FabResetMyPasswordView
from flask_appbuilder.security.views import RoleModelView as FabRoleModelView
from flask_appbuilder.security.views import UserDBModelView as FabUserDBModelView
from flask_appbuilder.widgets import ListWidget
from flask_appbuilder.security.decorators import no_cache
from flask_login import current_user, login_user
from sqlalchemy import event, select
from sqlalchemy.orm import Session, joinedload

from . import caching, labels
from .extensions import db
from .models import AppUser, Employer, School, Student
from .passwords import PASSWORD_RULE, password_hash, password_problem, password_validator  # noqa: F401
from .roles import (  # noqa: F401
    ROLE_ADMIN, ROLE_EMPLOYER, ROLE_LABELS, ROLE_PROVINCE, ROLE_SCHOOL, ROLE_STUDENT, ROLE_VIEWS, ROLES, SELF_SERVICE,
)

# Roles and the password rule live in app.roles and app.passwords (no Flask, no cycle with
# app.accounts); the names stay importable from here for code not yet moved over.
_PASSWORD_RULE = PASSWORD_RULE


def login_block_reason(user):
    """FAQ 1 (R7): a 定向 student, or one whose 就业方案 is submitted, cannot log in to sign."""
    if not user.student_id:
        return None
    from .workflow import login_block_reason as student_login_block  # the rule's one text (R7)

    return student_login_block(db.session.get(Student, user.student_id))


def student_username(school_id, account):
    """学生登录: 学号 or 身份证号 within one school → the login's username (or None)."""
    from .labels import parse_id

    account = (account or "").strip()
    school_id = parse_id(school_id)
    if not account or school_id is None:
        return None
    return db.session.scalar(
        select(AppUser.username).join(Student, Student.id == AppUser.student_id).where(
            Student.school_id == school_id,
            (Student.student_no == account) | (Student.id_number == account.upper())))


def safe_next(target):
    """`target` when it leads to a page of this site, else None: the one check for every `next`
    value (the login, `views.common.back`, back links). A same-host absolute URL (FAB's
    `has_access` sends `next=request.url` to the login) comes back as its path.

    Browsers drop tabs and newlines anywhere in a URL, strip leading control characters and
    spaces, and read a backslash as a slash: "/<TAB>/evil.example" and "/\\evil.example" open
    "//evil.example", another host. So any control character or backslash refuses the target."""
    if not target or any(c == "\\" or ord(c) < 32 or c == "\x7f" for c in target):
        return None
    url = urlsplit(target)
    if url.scheme or url.netloc:
        if url.scheme not in ("http", "https") or url.netloc != request.host:
            return None
        target = urlunsplit(("", "", url.path or "/", url.query, url.fragment))
    if not target.startswith("/") or target.startswith("//"):
        return None
    return target


class AuthDBView(FabAuthDBView):
    """(Same class name as FAB's, so the endpoints stay AuthDBView.login/logout.) FAB's login plus 学生登录 (school + 学号 or ID number) and the FAQ 1 refusals."""

    login_template = "portal/login.html"

    def _get_safe_next_url(self):
        return safe_next(request.args.get("next")) or self.appbuilder.get_url_for_index

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        mode = request.values.get("mode", "account")
        if request.method == "POST":
            next_url = self._get_safe_next_url()
            # NUL cannot be stored in PostgreSQL text: such input is simply a wrong login, never a 500.
            username = request.form.get("username", "").replace("\x00", "").strip()
            password = request.form.get("password", "").replace("\x00", "")
            if mode == "student":
                # Unknown 学号: still run a password check so timing does not tell (FAB balances too).
                username = student_username(request.form.get("school"), username) or "#no-such-user#"
            user = self.appbuilder.sm.auth_user_db(username, password)
            if not user:
                flash("账号或密码不正确" if mode != "student" else "学校、学号/身份证号或密码不正确", "warning")
                school = labels.parse_id(request.form.get("school")) if mode == "student" else None
                return redirect(url_for("AuthDBView.login", next=next_url or None, mode=mode, school=school))
            reason = login_block_reason(user)
            if reason:
                flash(reason, "danger")
                return redirect(self.appbuilder.get_url_for_login)
            login_user(user, remember=False)
            return redirect(next_url)
        schools = db.session.scalars(select(School).order_by(School.code)).all()
        return self.render_template(self.login_template, title="用户登录", appbuilder=self.appbuilder,
                                    schools=schools, mode=mode)


class UserDBModelView(FabUserDBModelView):
    """用户列表 for admins: Chinese values instead of True / [admin] / an empty Groups column.
    (FAB's class name kept: endpoints and permission names stay UserDBModelView.*.)"""

    list_columns = ["first_name", "last_name", "username", "email", "active", "roles"]
    formatters_columns = {
        "active": lambda value: "是" if value else "否",
        "roles": lambda roles: "、".join(ROLE_LABELS.get(r.name, r.name) for r in roles or []),
    }

    @expose("/download/<string:filename>")
    def download(self, filename):
        abort(404)  # FAB's file-column download reads UPLOAD_FOLDER (unset → 500); users have no files


    @expose("/userinfo/")
    def userinfo(self):
        """FAB's 用户信息 (the navbar's link) → the product's 个人信息 page (app/views/recovery.py)."""
        return redirect(url_for("ProfileView.profile"))


class ResetMyPasswordView(FabResetMyPasswordView):
    """FAB's 重设密码 changes a password without the old one: ours is 修改密码 (AccountView)."""

    @expose("/form", methods=["GET"])
    def this_form_get(self):
        return redirect(url_for("AccountView.password"))

    @expose("/form", methods=["POST"])
    def this_form_post(self):
        return redirect(url_for("AccountView.password"))


class RoleModelView(FabRoleModelView):
    """角色列表: names only (the permission list is thousands of English pairs wide)."""

    list_columns = ["name"]
    formatters_columns = {"name": lambda name: ROLE_LABELS.get(name, name)}
    list_widget = ListWidget  # FAB's roles widget ignores formatters_columns


class AppSecurityManager(SecurityManager):
    """FAB's manager with two per-request costs taken off (bench/README.md, load findings): the
    user comes with its roles, groups and party in ONE statement, and the answer of each
    permission check is kept (app.caching) for PERMISSION_CACHE_SECONDS per (view, permission, roles) — FAB
    asks the database every time, twice per page. A change to roles or permissions made in this
    process empties the cache at once (`_forget_permissions`: on flush, commit and rollback); other
    processes (gunicorn workers, hosts) see it within PERMISSION_CACHE_SECONDS. 0: no cache."""

    user_model = AppUser
    authdbview = AuthDBView
    userdbmodelview = UserDBModelView
    rolemodelview = RoleModelView
    resetmypasswordview = ResetMyPasswordView

    def get_user_by_id(self, pk):
        return db.session.scalars(
            select(AppUser).where(AppUser.id == pk)
            .options(joinedload(AppUser.roles), joinedload(AppUser.groups), joinedload(AppUser.student),
                     joinedload(AppUser.employer), joinedload(AppUser.school))
        ).unique().first()

    def exist_permission_on_roles(self, view_name, permission_name, role_ids):
        return caching.remembered(
            PERMISSION_CACHE, "PERMISSION_CACHE_SECONDS", 60, (view_name, permission_name, tuple(sorted(role_ids))),
            lambda: super(AppSecurityManager, self).exist_permission_on_roles(view_name, permission_name, role_ids),
            maxsize=4096)

    def reset_password(self, userid, password):
        """FAB's 重置密码 by an admin (ResetPasswordView; ResetMyPasswordView no longer reaches it):
        through accounts.set_password, so it is recorded and told to the user (R18); the user
        chooses a new password at the next login."""
        from . import accounts
        from .notify import notify

        user = self.get_user_by_id(labels.parse_id(userid))  # FAB passes ?pk= as text
        if user is None:
            abort(404)
        actor = current_user if current_user and current_user.is_authenticated else None
        accounts.set_password(user, password, kind="password_reset", actor=actor)
        user.must_change_password = True
        notify([(user.id, user.email)], "账号安全提醒",
               "系统管理员重置了你的网签系统登录密码，请用管理员告知的临时密码登录并修改密码。如非你本人申请，请立即联系系统管理员。")
        db.session.commit()

    def add_user(self, username, first_name, last_name, email, role, password="", hashed_password="", **kw):
        # FAB checks complexity only in forms (STACK-NOTES); accounts made by code obey it too.
        if password and password_problem(password):
            raise ValueError(PASSWORD_RULE)
        return super().add_user(username, first_name, last_name, email, role, password, hashed_password, **kw)


_PERMISSION_TABLES = frozenset(("ab_role", "ab_permission", "ab_view_menu", "ab_permission_view",
                                "ab_permission_view_role", "ab_group", "ab_group_role", "ab_user_group"))


PERMISSION_CACHE = "permission_cache"  # its name in app.caching


def _clear_permission_cache():
    if has_app_context():  # no app (a script): nothing cached
        caching.forget(PERMISSION_CACHE)


@event.listens_for(Session, "after_flush")
def _forget_permissions(session, _flush_context):
    """Roles, permissions or groups changed in this process: the permission cache starts again —
    at the flush, and again when the change commits or rolls back (another request of this
    process may have cached the old, still committed answer in between)."""
    changed = session.new | session.dirty | session.deleted
    if any(getattr(obj, "__tablename__", None) in _PERMISSION_TABLES for obj in changed):
        session.info["permissions_changed"] = True
        _clear_permission_cache()


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_permissions_at_the_end(session, *_args):
    if session.info.pop("permissions_changed", False):
        _clear_permission_cache()


def sync_roles(appbuilder):
    """Create our roles and give each exactly its views' permissions. Idempotent."""
    sm = appbuilder.sm
    for role_name in ROLES:
        sm.find_role(role_name) or sm.add_role(role_name)
    appbuilder.add_permissions(update_perms=True)
    from flask_appbuilder.security.sqla.models import PermissionView

    pvs = db.session.scalars(select(PermissionView)).all()
    for role_name in ROLES:
        role = sm.find_role(role_name) or sm.add_role(role_name)
        if role_name == ROLE_ADMIN:
            wanted = list(pvs)
        else:
            views = set(ROLE_VIEWS[role_name])
            wanted = [pv for pv in pvs if pv.view_menu.name in views
                      or (pv.permission.name, pv.view_menu.name) in SELF_SERVICE]
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
