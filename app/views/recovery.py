"""账号激活 / 忘记密码 (public) and 个人信息 (every role), R18.

- 毕业生 (首次登录 and 忘记密码 alike): 学校 + 学号/身份证号 → a code to the phone the school has on
  file → the student sets the password (students.activate_student). No initial password exists.
- 用人单位: 用户名 or 邮箱 → an e-mailed link (signed, RESET_LINK_MINUTES, single use:
  accounts.reset_token) → a new password.
- 学校就业部门, 省就业中心, 管理员: the page says their administrator resets it.

Every answer is the same whether the account exists (no enumeration); requests are limited per
client address (RECOVERY_RATE_LIMIT, plus the SMS limits of app.sms) and per account
(RECOVERY_PER_ACCOUNT_LIMIT; SMS_PER_PHONE_* for students). No @has_access: these pages are
for logged-out users, like the login page; 个人信息 is a normal permission (`can_profile`).
"""
from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import accounts, labels, sms, students, workflow
from ..extensions import db
from ..models import AppUser, School
from ..notify import notify
from ..passwords import PASSWORD_RULE, password_problem
from ..roles import ROLE_EMPLOYER, ROLE_LABELS
from ..security import role_of
from .common import rate_allowed

SENT = "如果填写的信息与学校登记的一致，验证码已发送至学校登记的手机号，{minutes}分钟内有效。"
MAILED = ("如果该账号存在且为用人单位账号，重置密码的链接已发送至其登记邮箱，{minutes}分钟内有效，只能使用一次。"
          "学校就业部门、省就业中心账号请联系系统管理员重置密码。")


class RecoveryView(BaseView):
    """首次登录 / 忘记密码 for every role (public)."""

    route_base = "/recover"
    default_view = "forgot"

    @expose("/", methods=["GET", "POST"])
    def forgot(self):
        """单位 / 学校 / 管理员: 用户名 or 邮箱 → an e-mailed link for an employer."""
        if current_user.is_authenticated:
            return redirect(url_for("AccountView.password"))
        minutes = current_app.config["RESET_LINK_MINUTES"]
        if request.method == "POST":
            name = request.form.get("account", "").replace("\x00", "").strip()[:120]
            if not name:
                flash("请输入用户名或邮箱", "danger")
            elif not rate_allowed("recover-ip", "RECOVERY_RATE_LIMIT", request.remote_addr):
                flash("操作过于频繁，请稍后再试", "danger")
            else:
                self._mail_link(name)
                flash(MAILED.format(minutes=minutes), "success")
                return redirect(url_for(".forgot"))
        return self.render_template("account/forgot.html", minutes=minutes)

    def _mail_link(self, name):
        user = db.session.scalar(select(AppUser).where(
            or_(AppUser.username == name, func.lower(AppUser.email) == name.lower())).limit(1))
        if (user is None or not user.active or role_of(user) != ROLE_EMPLOYER
                or not rate_allowed("recover-account", "RECOVERY_PER_ACCOUNT_LIMIT", user.id)):
            return
        link = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(".reset", token=accounts.reset_token(user))
        minutes = current_app.config["RESET_LINK_MINUTES"]
        notify([(user.id, user.email)], "重置密码",
               f"您（{user.username}）申请了重置就业协议网上签约系统的登录密码。请在{minutes}分钟内打开以下链接设置新密码，"
               f"链接只能使用一次：\n{link}\n如非本人操作，请忽略本邮件，原密码不变。")
        db.session.commit()

    @expose("/reset/<token>", methods=["GET", "POST"])
    def reset(self, token):
        """The e-mailed link: a new password for the login it was issued for."""
        user = accounts.user_of_reset_token(token)
        if user is None:
            flash("链接已失效（超过有效期或已使用），请重新申请重置密码", "danger")
            return redirect(url_for(".forgot"))
        errors = {}
        if request.method == "POST":
            password = request.form.get("password", "")
            if password != request.form.get("password2", ""):
                errors["password2"] = "两次输入的密码不一致"
            elif password_problem(password):
                errors["password"] = password_problem(password)
            if errors:
                flash(next(iter(errors.values())), "danger")
            else:
                accounts.set_password(user, password)
                notify([(user.id, user.email)], "密码已重置",
                       "您的网签系统登录密码已通过邮件链接重新设置。如非本人操作，请立即联系学校就业部门或系统管理员。")
                db.session.commit()
                flash("密码已重新设置，请用新密码登录", "success")
                return redirect(url_for("AuthDBView.login"))
        return self.render_template("account/reset.html", token=token, errors=errors, rule=PASSWORD_RULE,
                                    username=user.username)

    @expose("/activate", methods=["GET", "POST"])
    def activate(self):
        """毕业生 首次登录 / 忘记密码: school + 学号/身份证号 → SMS code → the student's own password."""
        if current_user.is_authenticated:
            return redirect("/")
        values = {"school": request.values.get("school", ""), "account": request.form.get("account", "").strip()}
        errors, sent, wait = {}, False, 0
        minutes = current_app.config["SMS_CODE_MINUTES"]
        if request.method == "POST":
            if request.form.get("step") == "send":
                if not values["school"] or not values["account"]:
                    errors["account"] = "请选择毕业院校并输入学号或身份证号"
                elif not rate_allowed("sms-send", "SMS_RATE_LIMIT", request.remote_addr):
                    errors["account"] = "操作过于频繁，请稍后再试"
                else:
                    try:
                        students.send_activation_code(values["school"], values["account"], ip=request.remote_addr)
                    except sms.SmsError as e:
                        errors["account"] = str(e)
                    else:
                        sent, wait = True, sms.RESEND_SECONDS  # the same answer (and countdown) for any account
                        flash(SENT.format(minutes=minutes), "success")
            else:
                password = request.form.get("password", "")
                sent = True
                if password != request.form.get("password2", ""):
                    errors["password2"] = "两次输入的密码不一致"
                else:
                    try:
                        students.activate_student(values["school"], values["account"], request.form.get("code"),
                                                  password)
                    except workflow.WorkflowError as e:
                        errors = e.fields or {"code": e.message}
                    else:
                        flash("密码已设置，请用新密码登录；登录后请完成信息验证", "success")
                        return redirect(url_for("AuthDBView.login", mode="student", school=values["school"]))
            if errors:
                flash(next(iter(errors.values())), "danger")
        schools = db.session.scalars(select(School).order_by(School.code)).all()
        return self.render_template("account/activate.html", schools=schools, values=values, errors=errors,
                                    sent=sent, minutes=minutes, rule=PASSWORD_RULE, sms_wait=wait)


class ProfileView(BaseView):
    """个人信息 for every role (instead of FAB's 用户信息): who, which party, masked e-mail."""

    route_base = "/me"
    default_view = "profile"

    @expose("/")
    @has_access
    def profile(self):
        user = db.session.get(AppUser, current_user.id) or abort(404)
        party = user.student or user.employer or user.school
        party_name = party.school.name if user.student is not None else getattr(party, "name", None)
        return self.render_template(
            "account/profile.html", user=user, role=ROLE_LABELS.get(role_of(user), "-"), party=party_name or "-",
            email=accounts.mask_email(user.email), last_login=labels.fmt_datetime(user.last_login)
            if user.last_login else "-", events=accounts.recent_events(user.id, 10), kinds=accounts.EVENT_KINDS)


def register(appbuilder):
    appbuilder.add_view_no_menu(RecoveryView())
    appbuilder.add_view_no_menu(ProfileView())
