"""Accounts for every role: 单位注册 (public), 修改密码, the region picker's data, the first-login
guard (forced password change, 签约信息确认, 信息验证), and for admins the SMS outbox and 用户统计."""
from flask import flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_login import current_user
from sqlalchemy import select

from .. import accounts, labels, profiles, regions, workflow
from ..extensions import db
from ..models import AppUser, School, SmsMessage
from ..passwords import PASSWORD_RULE, password_problem
from ..queries.accounts import RECENT_DAYS, accounts_by_role
from ..roles import ROLE_LABELS
from ..security import current_employer, current_student, end_other_sessions, live_sessions, now
from .common import flash_error, rate_allowed

REGISTER_FIELDS = ("name", "credit_code", "nature", "industry", "region", "contact_name", "contact_phone", "email", "address",
                   "username")


class RegisterView(BaseView):
    """单位注册: no login. Creates the employer, its login and pending 单位审核 at the chosen schools."""

    route_base = "/register"
    default_view = "register"

    @expose("/", methods=["GET", "POST"])
    def register(self):
        if current_user.is_authenticated:
            return redirect("/")
        values, errors = {}, {}
        schools = db.session.scalars(select(School).order_by(School.code)).all()
        if request.method == "POST":
            values = {f: request.form.get(f, "").strip() for f in REGISTER_FIELDS}
            password = request.form.get("password", "")
            school_ids = [i for i in map(labels.parse_id, request.form.getlist("schools")) if i is not None]
            if not rate_allowed("register", "REGISTER_RATE_LIMIT", request.remote_addr or "-"):
                flash("注册过于频繁，请稍后再试", "danger")
                return self.render_template("account/register.html", values=values, errors={}, schools=schools,
                                            natures=labels.EMPLOYER_NATURE.items()), 429
            if password != request.form.get("password2", ""):
                errors = {"password2": "两次输入的密码不一致"}
                flash("两次输入的密码不一致", "danger")
            else:
                try:
                    profiles.register_employer(values, password, school_ids)
                except workflow.WorkflowError as e:
                    errors = e.fields
                    flash_error(e)
                else:
                    flash("注册成功，请登录。登录后请先完成签约信息确认；学校审核通过后即可发送邀约。", "success")
                    return redirect(url_for("AuthDBView.login"))
            values["schools"] = school_ids
        return self.render_template("account/register.html", values=values, errors=errors, schools=schools,
                                    natures=labels.EMPLOYER_NATURE.items())


class RegionView(BaseView):
    """The cascading 省/市/区县 picker's data (GB/T 2260, app/regions.py); public, read-only."""

    route_base = "/regions"

    @expose("/<code>.json")
    def children(self, code):
        if code == "root":
            return jsonify(regions.provinces())
        return jsonify(regions.children(code))


class AccountView(BaseView):
    """修改密码 for every role; also where a forced change on first login lands."""

    route_base = "/account"
    default_view = "password"

    @expose("/password", methods=["GET", "POST"])
    @has_access
    def password(self):
        errors = {}
        if request.method == "POST":
            old, new = request.form.get("old_password", ""), request.form.get("new_password", "")
            user = db.session.get(AppUser, current_user.id)
            if not accounts.check_password(user, old):
                errors["old_password"] = "原密码不正确"
            elif new != request.form.get("new_password2", ""):
                errors["new_password2"] = "两次输入的新密码不一致"
            elif new == old:
                errors["new_password"] = "新密码不能与原密码相同"
            elif password_problem(new):
                errors["new_password"] = password_problem(new)
            if errors:
                flash(next(iter(errors.values())), "danger")
            else:
                accounts.set_password(user, new)  # recorded (账号安全记录); other sessions end
                db.session.commit()
                flash("密码已修改；此账号在其他设备上的登录已全部退出", "success")
                return redirect("/")
        return self.render_template("account/password.html", errors=errors,
                                    forced=bool(current_user.must_change_password),
                                    rule=PASSWORD_RULE, sessions=live_sessions(current_user.id))

    @expose("/sessions/end-others", methods=["POST"])
    @has_access
    @permission_name("password")
    def end_other_sessions(self):
        """登录设备 → 退出其他设备上的登录 (this one stays)."""
        ended = end_other_sessions(current_user.id)
        flash(f"已退出其他设备上的登录（{ended}个）" if ended else "没有其他设备上的登录", "success")
        return redirect(url_for("AccountView.password"))


class SmsOutboxView(ModelView):
    """短信发件箱 (admin): what the development backend "sent", and the HTTP backend's outcomes."""

    route_base = "/admin/sms"
    datamodel = SQLAInterface(SmsMessage)
    base_permissions = ["can_list"]
    base_order = ("id", "desc")
    list_title = "短信发件箱"
    list_columns = ["created_at", "phone", "body", "backend", "status", "error"]
    search_columns = ["phone"]
    label_columns = {"created_at": "时间", "phone": "手机", "body": "内容", "backend": "通道", "status": "状态",
                     "error": "错误"}
    formatters_columns = {
        "created_at": labels.fmt_datetime,
        "backend": lambda v: {"dev": "开发（不外发）", "http": "短信平台"}.get(v, v),
        "status": lambda v: {"sent": "已发送", "failed": "发送失败"}.get(v, v),
        "error": lambda v: v or "-",
    }


class UserStatsView(BaseView):
    """用户统计 (admin): accounts per role, enabled, locked, and how recently they logged in — a
    table of counts (FAB's chart drew with Google Charts, which the Content-Security-Policy refuses)."""

    route_base = "/admin/user-stats"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        counts = accounts_by_role(now())
        rows = [(ROLE_LABELS[name], c) for name, c in counts.items()]
        totals = {key: sum(c[key] for c in counts.values()) for key in ("total", "active", "inactive", "locked", "never")}
        totals["recent"] = {days: sum(c["recent"][days] for c in counts.values()) for days in RECENT_DAYS}
        return self.render_template("admin/user_stats.html", rows=rows, totals=totals, recent_days=RECENT_DAYS,
                                    at=now())


# ---------------------------------------------------------------- the first-login guard

# Pages a user may open before finishing the first-login steps.
_OPEN = {"AccountView.password", "AuthDBView.logout", "AuthDBView.login", "static", "appbuilder.static",
         "StudentPortal.verify", "StudentPortal.send_code", "EmployerPortal.confirm", "RegionView.children",
         "VerifyView.verify"}


def first_login_guard():
    """Every page leads to the step still missing: 修改密码 (forced), then 签约信息确认 for an
    employer or 信息验证 for a graduate (manual §2.1, §2.2)."""
    if not current_user.is_authenticated or request.endpoint in _OPEN or (request.endpoint or "").endswith(".static"):
        return None
    if current_user.must_change_password:
        return redirect(url_for("AccountView.password"))
    if current_user.employer_id and current_employer().profile_confirmed_at is None:
        return redirect(url_for("EmployerPortal.confirm"))
    if current_user.student_id and current_student().verified_at is None:
        return redirect(url_for("StudentPortal.verify"))
    return None


def refuse_nul_bytes():
    """A NUL byte cannot be stored in PostgreSQL text and is never meant: any form or query value
    carrying one gets a clear 400 instead of a database error deep in a view."""
    if request.path.startswith("/login"):
        return None  # the login view strips them and answers "wrong login"
    sources = [request.args] + ([request.form] if request.method == "POST" else [])
    for values in sources:
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                return "请求中含有非法字符（空字符），请检查输入后重试", 400
    return None


def register(appbuilder):
    appbuilder.add_view_no_menu(RegisterView())
    appbuilder.add_view_no_menu(RegionView())
    appbuilder.add_view_no_menu(AccountView())
    appbuilder.add_view_no_menu(SmsOutboxView())
    appbuilder.add_view_no_menu(UserStatsView())
