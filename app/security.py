"""The login, the security manager, party scoping and safe redirects.

Each login belongs to one party (DESIGN.md §1): `current_party()` returns it, and every view
builds its queries from it, so another party's id simply is not found (404).
"""
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from flask import abort, current_app, flash, g, has_app_context, has_request_context, redirect, request, session, url_for
from flask_appbuilder import BaseView, ModelView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.actions import action as fab_action
from flask_appbuilder.const import PERMISSION_PREFIX
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_appbuilder.security.views import ResetMyPasswordView as FabResetMyPasswordView
from flask_appbuilder.security.views import ResetPasswordView as FabResetPasswordView
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security.views import RoleModelView as FabRoleModelView
from flask_appbuilder.security.views import UserDBModelView as FabUserDBModelView
from flask_appbuilder.fields import QuerySelectMultipleField
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, Select2ManyWidget
from flask_appbuilder.security.sqla.models import Role
from flask_appbuilder.validators import PasswordComplexityValidator
from wtforms import PasswordField, validators
from flask_appbuilder.security.decorators import has_access, no_cache
from flask_login import current_user, login_user, logout_user
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.orm import Session, attributes, joinedload
from werkzeug.security import check_password_hash

from . import caching, labels
from .extensions import db
from .models import AppUser, Employer, LoginEvent, School, Student, UserSession, utcnow
from .passwords import PASSWORD_RULE, password_hash, password_problem, password_validator  # noqa: F401
from .roles import (  # noqa: F401
    MENUS, ROLE_ADMIN, ROLE_EMPLOYER, ROLE_LABELS, ROLE_PROVINCE, ROLE_SCHOOL, ROLE_STUDENT, ROLE_VIEWS, ROLES,
    SELF_SERVICE,
)
from .queries.accounts import RECENT_DAYS, accounts_by_role

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


class NoPasswordSecurityApi(SecurityApi):
    """FAB registers SecurityApi even with FAB_ADD_SECURITY_API off: /api/v1/security/login gave
    a JWT for a password, outside the login's lockout and R7 refusals. There is no password login
    on the API: both routes are gone (404)."""

    login = None
    refresh = None


# ---------------------------------------------------------------- server-side sessions

SESSION_KEY = "_sid"
EXPIRED_MESSAGE = "登录已过期，请重新登录"
LOGIN_FIRST_MESSAGE = "请先登录"
LOCKED_MESSAGE = "登录失败次数过多，账号已被暂时锁定，请于{until}之后再试，或联系管理员解除锁定"


def now():
    """The clock of sessions and lockouts (naive UTC); tests move it."""
    return utcnow()


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _client():
    return (request.remote_addr or "")[:45], (request.user_agent.string or "")[:200]


def start_session(user):
    """Log `user` in with a new session record; whatever the cookie held before is dropped (no
    fixation, a fresh CSRF token)."""
    token = secrets.token_urlsafe(32)
    ip, agent = _client()
    moment = now()
    db.session.add(UserSession(token_hash=_hash(token), user_id=user.id, created_at=moment, last_seen_at=moment,
                               ip=ip, user_agent=agent))
    db.session.commit()
    session.clear()
    login_user(user, remember=False)
    session[SESSION_KEY] = token


def _current_record():
    token = session.get(SESSION_KEY)
    if not token or not isinstance(token, str):
        return None
    return db.session.scalar(select(UserSession).where(UserSession.token_hash == _hash(token)))


def _problem(user, record):
    """Why this session may not go on (an end_reason), or None."""
    if record is None or record.user_id != user.id or record.ended_at is not None:
        return "ended"
    cfg = current_app.config
    moment = now()
    if moment - record.created_at >= timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]):
        return "expired"
    if moment - record.last_seen_at >= timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        return "idle"
    if not user.is_active:
        return "inactive"
    if login_block_reason(user):
        return "blocked"
    return None


def check_session(user, record):
    """True when `record` (the session record of this request's cookie) is a live session of
    `user`; otherwise `g.session_problem` says why (enforce_session ends the record and sends to
    the login)."""
    problem = _problem(user, record)
    if problem:
        g.session_problem = (problem, record, user)
        return False
    g.user_session = record
    return True


def enforce_session():
    """before_request (registered by create_app): loads the login now, so a session that ended —
    logout elsewhere, a password change, the timeouts, a deactivated or R7-blocked login — is
    logged out here, with a Chinese message, before any view runs."""
    if (request.endpoint or "").endswith("static"):
        return None  # stylesheets and scripts: no login needed, no queries spent
    if not current_user.is_authenticated:
        problem = g.pop("session_problem", None)
        if problem is None:
            return None
        kind, record, user = problem
        if record is not None and record.ended_at is None and record.user_id == user.id:
            record.ended_at, record.end_reason = now(), kind
            db.session.commit()
        session.clear()
        logout_user()
        if request.endpoint == "AuthDBView.login":
            return None  # the login form itself: simply not logged in any more
        if kind == "blocked":
            return to_login(login_block_reason(user), "danger")
        if kind == "inactive":
            return to_login("账号已停用，请联系管理员", "danger")
        return to_login(EXPIRED_MESSAGE)
    record = g.get("user_session")
    if record is not None and now() - record.last_seen_at >= timedelta(
            seconds=current_app.config["SESSION_TOUCH_SECONDS"]):
        db.session.execute(update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now()))
        db.session.commit()
    return None


def to_login(message, category="warning"):
    """The login page with `message`; after the login the person comes back to this page — a GET's
    own path (safe_next), never a POST's URL, whose form is gone."""
    flash(message, category)
    target = safe_next(request.full_path.rstrip("?")) if request.method == "GET" else None
    return redirect(url_for("AuthDBView.login", next=target))


def ask_to_log_in():
    """before_request: a logged-out visitor to a page behind FAB's `has_access` is asked to log in
    (请先登录) and comes back afterwards. FAB's has_access would flash 访问被拒绝 — its word for a
    missing permission — and send the full URL as `next`. A page the public role may open (the
    same check has_access makes) and every page without has_access are left alone."""
    if current_user.is_authenticated:
        return None
    page = current_app.view_functions.get(request.endpoint)
    view = getattr(page, "__self__", None)
    name = getattr(page, "_permission_name", None)  # set by has_access (and permission_name)
    if not isinstance(view, BaseView) or name is None:
        return None
    permission = PERMISSION_PREFIX + ((view.method_permission_name or {}).get(page.__name__) or name)
    if permission in view.base_permissions and current_app.appbuilder.sm.has_access(
            permission, view.class_permission_name):
        return None
    return to_login(LOGIN_FIRST_MESSAGE)


def end_current_session(reason):
    """Logout: the record ends (every copy of the cookie with it) and the cookie is emptied."""
    record = _current_record()
    if record is not None and record.ended_at is None:
        record.ended_at, record.end_reason = now(), reason
        db.session.commit()
    session.clear()
    logout_user()


def live_sessions(user_id):
    """The login's sessions still running, newest first, as (record, is this request's own)."""
    cfg = current_app.config
    moment = now()
    records = db.session.scalars(
        select(UserSession).where(
            UserSession.user_id == user_id, UserSession.ended_at.is_(None),
            UserSession.created_at > moment - timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]),
            UserSession.last_seen_at > moment - timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]))
        .order_by(UserSession.created_at.desc(), UserSession.id.desc())).all()
    token = session.get(SESSION_KEY)
    own = _hash(token) if isinstance(token, str) and token else None
    return [(record, record.token_hash == own) for record in records]


def end_other_sessions(user_id):
    """退出其他设备: every session of the login but this request's own ends."""
    token = session.get(SESSION_KEY)
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if isinstance(token, str) and token:
        query = query.where(UserSession.token_hash != _hash(token))
    ended = db.session.execute(query.values(ended_at=now(), end_reason="ended_by_user")).rowcount
    db.session.commit()
    return ended


@event.listens_for(Session, "before_flush")
def _note_password_changes(session_, _flush_context, _instances):
    for obj in session_.dirty:
        if isinstance(obj, AppUser) and attributes.get_history(obj, "password").has_changes():
            session_.info.setdefault("password_changed", set()).add(obj.id)


@event.listens_for(Session, "after_flush")
def _end_sessions_on_password_change(session_, _flush_context):
    """A new password (修改密码, FAB's reset views, an administrator's reset, any later flow) ends
    every other session of that login: whoever held a copy of a cookie is out. The request that
    changed its own password keeps its session."""
    changed = session_.info.pop("password_changed", None)
    if not changed:
        return
    token = session.get(SESSION_KEY) if has_request_context() else None
    for user_id in changed:
        query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        if token:
            query = query.where(UserSession.token_hash != _hash(token))
        session_.execute(query.values(ended_at=now(), end_reason="password"))


# ---------------------------------------------------------------- lockout

def record_event(user, kind, actor=None):
    ip = _client()[0] if has_request_context() else None
    db.session.add(LoginEvent(user_id=user.id, kind=kind, ip=ip, actor_id=getattr(actor, "id", None),
                              created_at=now()))


def claim_attempt(user):
    """Count one attempt before its password is checked, in one UPDATE, unless the login is locked
    or already has LOGIN_LOCK_THRESHOLD failures in flight: parallel guesses cannot slip past."""
    threshold = current_app.config["LOGIN_LOCK_THRESHOLD"]
    moment = now()
    failures = func.coalesce(AppUser.fail_login_count, 0)
    claimed = db.session.execute(
        update(AppUser).where(AppUser.id == user.id, or_(AppUser.locked_until.is_(None), AppUser.locked_until <= moment),
                              failures < threshold)
        .values(fail_login_count=failures + 1).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if claimed:
        return True
    db.session.refresh(user)
    if user.locked_until is None or user.locked_until <= moment:
        _lock(user, moment)  # the threshold reached without a lock (racing requests, FAB's old counts)
        db.session.commit()
    return False


def failed_attempt(user):
    """The claimed attempt had a wrong password: at the threshold the login locks."""
    db.session.refresh(user)
    record_event(user, "failure")
    if (user.fail_login_count or 0) >= current_app.config["LOGIN_LOCK_THRESHOLD"]:
        _lock(user, now())
        g.login_locked_until = user.locked_until
    db.session.commit()


def _lock(user, moment):
    cfg = current_app.config
    seconds = min(cfg["LOGIN_LOCK_BASE_SECONDS"] * 2 ** min(user.lock_count or 0, 30), cfg["LOGIN_LOCK_MAX_SECONDS"])
    user.locked_until = moment + timedelta(seconds=seconds)
    user.lock_count = (user.lock_count or 0) + 1
    user.fail_login_count = 0
    record_event(user, "lockout")


def unlock_user(user, actor=None):
    user.locked_until, user.lock_count, user.fail_login_count = None, 0, 0
    record_event(user, "unlock", actor=actor)


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
            # A refused login goes back to the form on the tab it was made on (毕业生登录 keeps
            # its school), with the page it was meant to open.
            school = labels.parse_id(request.form.get("school")) if mode == "student" else None
            again = redirect(url_for("AuthDBView.login", next=next_url or None, mode=mode, school=school))
            user = self.appbuilder.sm.auth_user_db(username, password)
            if not user:
                locked_until = g.pop("login_locked_until", None)
                if locked_until is not None:
                    flash(LOCKED_MESSAGE.format(until=labels.local(locked_until).strftime("%H:%M")), "danger")
                else:
                    flash("账号或密码不正确" if mode != "student" else "学校、学号/身份证号或密码不正确", "warning")
                return again
            reason = login_block_reason(user)
            if reason:
                flash(reason, "danger")
                return again
            start_session(user)
            return redirect(next_url)
        schools = db.session.scalars(select(School).order_by(School.code)).all()
        return self.render_template(self.login_template, title="用户登录", appbuilder=self.appbuilder,
                                    schools=schools, mode=mode)

    @expose("/logout/", methods=["GET", "POST"])
    @no_cache
    def logout(self):
        """退出: POST only (CSRF-protected), ending the session's record; a GET (an old link, an
        <img> on another site) only asks."""
        if request.method == "GET":
            if not current_user.is_authenticated:
                return redirect(self.appbuilder.get_url_for_login)
            return self.render_template("portal/logout.html", title="退出登录", appbuilder=self.appbuilder)
        end_current_session("logout")
        flash("您已退出登录", "info")
        return redirect(self.appbuilder.get_url_for_login)


class UserDBModelView(FabUserDBModelView):
    """用户列表 for admins: Chinese values instead of True / [admin] / an empty Groups column.
    (FAB's class name kept: endpoints and permission names stay UserDBModelView.*.)"""

    list_title, show_title, add_title, edit_title = "用户列表", "用户详情", "新增用户", "编辑用户"
    # No 删除: a login's records (登录记录, 流程追踪, 账号安全记录) point at it; an account is 停用 instead.
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "resetmypassword", "resetpasswords", "unlock",
                        "userinfoedit"]
    search_columns = ["username", "last_name", "first_name", "email", "roles", "active"]
    list_columns = ["last_name", "first_name", "username", "email", "active", "roles", "fail_login_count",
                    "locked_until"]
    add_columns = ["last_name", "first_name", "username", "email", "active", "roles", "password", "conf_password"]
    edit_columns = ["last_name", "first_name", "username", "email", "active", "roles"]
    show_fieldsets = [
        ("账号", {"fields": ["username", "last_name", "first_name", "email", "roles", "active"], "expanded": True}),
        ("登录", {"fields": ["last_login", "login_count", "fail_login_count", "locked_until"], "expanded": True}),
        ("记录", {"fields": ["created_on", "created_by", "changed_on", "changed_by"], "expanded": True}),
    ]
    label_columns = {**FabUserDBModelView.label_columns, "active": "启用", "last_login": "最近登录",
                     "login_count": "登录次数", "fail_login_count": "连续登录失败", "locked_until": "登录锁定",
                     "created_on": "创建时间", "created_by": "创建人", "changed_on": "修改时间", "changed_by": "修改人"}
    description_columns = {
        "username": "登录时填写的用户名（学生账号为“院校代码-学号”）",
        "active": "停用的账号不能登录；不要删除账号，停用即可",
        "email": "找回密码与通知发到此邮箱",
        "roles": "每个账号一个角色：它决定账号能打开哪些页面（见角色列表）",
        "password": PASSWORD_RULE,
        "conf_password": "再输入一次密码",
    }
    formatters_columns = {
        "active": lambda value: "是" if value else "否",
        "roles": lambda roles: "、".join(ROLE_LABELS.get(r.name, r.name) for r in roles or []),
        "fail_login_count": lambda value: f"{value}次" if value else "-",
        "locked_until": lambda value: f"锁定至{labels.fmt_datetime(value)}" if value and value > now() else "-",
        "login_count": lambda value: f"{value or 0}次",
        "last_login": lambda value: labels.fmt_datetime(value) if value else "从未登录",
        "created_on": lambda value: labels.fmt_datetime(value) if value else "-",
        "changed_on": lambda value: labels.fmt_datetime(value) if value else "-",
        "created_by": lambda user: user.username if user else "系统",
        "changed_by": lambda user: user.username if user else "系统",
    }
    # 角色 as a choice of the five roles in Chinese (FAB's field lists every role by its code name).
    add_form_extra_fields = {
        "roles": QuerySelectMultipleField(
            "角色", description=description_columns["roles"], validators=[validators.DataRequired("请选择角色")],
            query_func=lambda: db.session.scalars(select(Role).where(Role.name.in_(ROLES)).order_by(Role.id)).all(),
            get_pk_func=lambda role: role.id, get_label=lambda role: ROLE_LABELS.get(role.name, role.name),
            widget=Select2ManyWidget()),
    }
    add_form_extra_fields["password"] = PasswordField(
        "密码", description=PASSWORD_RULE, validators=[validators.DataRequired("请输入密码"), PasswordComplexityValidator()],
        widget=BS3PasswordFieldWidget())
    add_form_extra_fields["conf_password"] = PasswordField(
        "确认密码", description="再输入一次密码",
        validators=[validators.DataRequired("请再输入一次密码"), validators.EqualTo("password", message="两次输入的密码不一致")],
        widget=BS3PasswordFieldWidget())
    edit_form_extra_fields = {"roles": add_form_extra_fields["roles"]}

    @expose("/download/<string:filename>")
    def download(self, filename):
        abort(404)  # FAB's file-column download reads UPLOAD_FOLDER (unset → 500); users have no files


    @expose("/userinfo/")
    def userinfo(self):
        """FAB's 用户信息 (the navbar's link) → the product's 个人信息 page (app/views/recovery.py)."""
        return redirect(url_for("ProfileView.profile"))

    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        abort(404)  # FAB runs it on a GET (no CSRF): actions go through action_post only

    @fab_action("unlock", "解除锁定", "确定解除所选账号的登录锁定？", "fa-unlock")
    def unlock(self, items):
        users = items if isinstance(items, list) else [items]
        for user in users:
            unlock_user(user, actor=current_user)
        db.session.commit()
        flash(f"已解除{len(users)}个账号的登录锁定", "success")
        return redirect(self.get_redirect())


class ResetMyPasswordView(FabResetMyPasswordView):
    """FAB's 重设密码 changes a password without the old one: ours is 修改密码 (AccountView)."""

    @expose("/form", methods=["GET"])
    def this_form_get(self):
        return redirect(url_for("AccountView.password"))

    @expose("/form", methods=["POST"])
    def this_form_post(self):
        return redirect(url_for("AccountView.password"))


class AdminResetPasswordForm(DynamicForm):
    password = PasswordField("临时密码", description=f"{PASSWORD_RULE}；用户用它登录后须立即修改密码",
                             validators=[validators.DataRequired("请输入临时密码"), PasswordComplexityValidator()],
                             widget=BS3PasswordFieldWidget())
    conf_password = PasswordField("确认密码", description="再输入一次临时密码",
                                  validators=[validators.EqualTo("password", message="两次输入的密码不一致")],
                                  widget=BS3PasswordFieldWidget())


class ResetPasswordView(FabResetPasswordView):
    """用户列表 → 重设密码 (admin): a temporary password in Chinese wording (FAB's form says the
    application does not check passwords — ours does); `AppSecurityManager.reset_password` records
    it and makes the user change it. (FAB's class name kept: the endpoint and permission.)"""

    form = AdminResetPasswordForm
    form_title = "重设密码"
    message = "密码已重设，用户下次登录时须修改密码"


class LoginEventView(ModelView):
    """登录记录 (admin): successes, failures, lockouts and unlocks per login, newest first."""

    route_base = "/admin/login-events"
    datamodel = SQLAInterface(LoginEvent)
    base_permissions = ["can_list"]
    base_order = ("id", "desc")
    list_title = "登录记录"
    list_columns = ["created_at", "user", "kind", "ip", "actor"]
    search_columns = ["user", "kind"]
    label_columns = {"created_at": "时间", "user": "账号", "kind": "结果", "ip": "来源地址", "actor": "操作人"}
    formatters_columns = {
        "created_at": labels.fmt_datetime,
        "kind": lambda v: LOGIN_EVENT_KINDS.get(v, v),
        "user": lambda u: u.username if u else "-",
        "actor": lambda u: u.username if u else "-",
        "ip": lambda v: v or "-",
    }


LOGIN_EVENT_KINDS = {"success": "登录成功", "failure": "密码错误", "lockout": "锁定", "unlock": "解除锁定"}


class RoleModelView(FabRoleModelView):
    """角色列表 (admin), read-only: the five roles in Chinese, their accounts and the pages each may
    open — read from `roles.MENUS`, the menu definition `flask roles sync` grants from. FAB's own
    add/edit pages (thousands of English permission pairs) are gone: an edit there was undone by
    the next `flask roles sync`. A login's role is given on 用户列表 → 编辑."""

    base_permissions = ["can_list", "can_show"]
    list_title = show_title = "角色列表"

    @expose("/list/")
    @has_access
    def list(self):
        counts = accounts_by_role(now())
        roles = {r.name: r for r in db.session.scalars(select(self.datamodel.obj)).all()}
        rows = [(roles.get(name), name, counts[name]) for name in ROLES]
        return self.render_template("admin/roles.html", rows=rows, labels=ROLE_LABELS, menus=MENUS,
                                    admin=ROLE_ADMIN)

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        role = db.session.get(self.datamodel.obj, pk) if str(pk).isdigit() else None
        if role is None or role.name not in ROLES:
            abort(404)
        return self.render_template("admin/role.html", role=role, label=ROLE_LABELS[role.name],
                                    counts=accounts_by_role(now())[role.name], recent_days=RECENT_DAYS,
                                    menu=MENUS[role.name], admin=role.name == ROLE_ADMIN)

    # FAB's write routes answer 404 even where an older database still grants can_add/can_edit.
    @expose("/add", methods=["GET", "POST"])
    def add(self):
        abort(404)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    def edit(self, pk):
        abort(404)

    @expose("/delete/<pk>", methods=["GET", "POST"])
    def delete(self, pk):
        abort(404)

    @expose("/action/<string:name>/<pk>", methods=["GET"])
    def action(self, name, pk):
        abort(404)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        abort(404)


class AppSecurityManager(SecurityManager):
    """FAB's manager with two per-request costs taken off (bench/README.md, load findings): the
    user comes with its roles, groups and party in ONE statement, and the answer of each
    permission check is kept (app.caching) for PERMISSION_CACHE_SECONDS per (view, permission, roles) — FAB
    asks the database every time, twice per page. A change to roles or permissions made in this
    process empties the cache at once (`_forget_permissions`: on flush, commit and rollback); other
    processes (gunicorn workers, hosts) see it within PERMISSION_CACHE_SECONDS. 0: no cache."""

    user_model = AppUser
    authdbview = AuthDBView
    security_api = NoPasswordSecurityApi
    userdbmodelview = UserDBModelView
    rolemodelview = RoleModelView
    resetmypasswordview = ResetMyPasswordView
    resetpasswordview = ResetPasswordView
    # FAB's 用户统计 draws with Google Charts, which the Content-Security-Policy refuses: a blank page.
    # Not registered (404); 登录记录 and 用户列表 (连续登录失败, 登录锁定) tell an admin about logins.
    userstatschartview = None

    def get_user_by_id(self, pk):
        return db.session.scalars(self._user_query(pk)).unique().first()

    @staticmethod
    def _user_query(pk):
        return (select(AppUser).where(AppUser.id == pk)
                .options(joinedload(AppUser.roles), joinedload(AppUser.groups), joinedload(AppUser.student),
                         joinedload(AppUser.employer), joinedload(AppUser.school)))

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

    def register_views(self):
        super().register_views()
        self.appbuilder.add_view_no_menu(LoginEventView())

    def load_user(self, pk):
        """Flask-Login's loader: the login only with a live session record (check_session)."""
        # One statement for the login, its party and its session record (the per-request cost
        # stays one query). FAB's load_user would drop an inactive login silently.
        token = session.get(SESSION_KEY)
        token_hash = _hash(token) if isinstance(token, str) and token else ""
        row = db.session.execute(
            self._user_query(int(pk)).add_columns(UserSession)
            .outerjoin(UserSession, (UserSession.user_id == AppUser.id) & (UserSession.token_hash == token_hash))
        ).unique().first()
        if row is None or not check_session(row[0], row[1]):
            return None
        return row[0]

    def auth_user_db(self, username, password):
        """The password check of every login form, with the per-account lockout: the attempt is
        counted (atomically, before the password is checked) unless the login is locked; a locked
        login is refused whatever the password, and `g.login_locked_until` tells the view until when.
        A login without a usable password (accounts.NO_PASSWORD: activate by SMS) accepts nothing."""
        from . import accounts

        user = None
        if username:
            user = self.find_user(username=username) or self.find_user(email=username)
        if user is None or not user.is_active:
            return super().auth_user_db(username, password)  # FAB's balanced refusal
        if not claim_attempt(user):
            check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")
            g.login_locked_until = user.locked_until
            return None
        if accounts.check_password(user, password):
            self.update_user_auth_stat(user, True)  # FAB: fail_login_count = 0, login_count, last_login
            user.locked_until, user.lock_count = None, 0
            record_event(user, "success")
            db.session.commit()
            return user
        failed_attempt(user)
        return None

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

    # A permission a view no longer has (RoleModelView's can_edit, UserDBModelView's can_delete)
    # stays in the database while a role holds it (FAB: "Refused to delete permission view"):
    # no role gets one, and the second add_permissions below deletes them.
    current = {}
    for view in appbuilder.baseviews:
        name = getattr(view, "class_permission_name", None)
        if name:
            current.setdefault(name, set()).update(view.base_permissions or [])
            current[name].update(getattr(view, "actions", {}).keys())
    pvs = [pv for pv in db.session.scalars(select(PermissionView)).all()
           if pv.view_menu.name not in current or pv.permission.name in current[pv.view_menu.name]]
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
    appbuilder.add_permissions(update_perms=True)


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
