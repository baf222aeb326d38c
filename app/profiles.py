"""Employers' accounts and profiles: 单位注册 and 签约信息确认 / 基本信息维护 (manual §2.1).
These change no status: the transitions of an employer's approval are app.workflow's (R1)."""
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import accounts
from .extensions import db
from .models import AppUser, Employer, EmployerApproval, School
from .notify import notify, users_of
from .passwords import password_problem
from .roles import ROLE_EMPLOYER
from .workflow import MOVES, WorkflowError
from .workflow.base import commit, transition, utc
from .workflow.fields import USERNAME, archive_hukou, control_problem, profile_fields


def email_taken(email, except_user_id=None):
    """ab_user.email is unique: another login already uses this address (case-insensitive)."""
    q = select(func.count()).select_from(AppUser).where(func.lower(AppUser.email) == email.lower())
    if except_user_id is not None:
        q = q.where(AppUser.id != except_user_id)
    return bool(db.session.scalar(q))



REGISTRATION_TAKEN = ("注册未完成：该单位、用户名或邮箱已有账号。已注册的单位请直接登录（可使用“忘记密码”找回），"
                      "或更换用户名、邮箱后重试；如有疑问请联系学校就业部门。")


@transition
def register_employer(values, password, school_ids, now=None):
    """单位注册: the employer, its login and a pending 单位审核 at each chosen school, all at once.
    It may offer once one school approves it and it has confirmed its signing profile (R1)."""
    from stdnum.cn import uscc

    n = utc(now)
    errors, clean = {}, {}
    name = str(values.get("name") or "").strip()
    if not name or len(name) > 200:
        errors["name"] = "请输入单位名称（200字以内）"
    elif control_problem(name, "单位名称"):
        errors["name"] = control_problem(name, "单位名称")
    code = str(values.get("credit_code") or "").strip().upper()
    if not uscc.is_valid(code):
        errors["credit_code"] = "统一社会信用代码不正确（18位，含校验位）"
    profile_fields(values, errors, clean)
    username = str(values.get("username") or "").strip()
    if not USERNAME.match(username):
        errors["username"] = "用户名为4-30位字母、数字、下划线、点或减号"
    problem = password_problem(password)
    if problem:
        errors["password"] = problem
    schools = db.session.scalars(select(School).where(School.id.in_(list(school_ids or [])))).all()
    if not schools or len(schools) != len(set(school_ids)):
        errors["schools"] = "请至少选择一所提交审核的学校"
    if errors:
        raise WorkflowError("注册信息填写有误，请按提示修改", "R1", errors)
    # The form is valid. Whether the credit code, the user name or the e-mail is already in use is
    # told in one answer that does not say which (the public page must not tell who is registered).
    taken = (db.session.scalar(select(func.count()).select_from(Employer).where(Employer.credit_code == code))
             or db.session.scalar(select(func.count()).select_from(AppUser).where(
                 func.lower(AppUser.username) == username.lower()))
             or email_taken(clean["email"]))
    if taken:
        raise WorkflowError(REGISTRATION_TAKEN, "R1")

    employer = Employer(name=name, credit_code=code, created_at=n, **clean)
    db.session.add(employer)
    try:
        db.session.flush()
    except IntegrityError:  # the same credit code registered at this very moment
        raise WorkflowError(REGISTRATION_TAKEN, "R1")
    for school in schools:
        db.session.add(EmployerApproval(employer_id=employer.id, school_id=school.id,
                                        status=MOVES["employer_apply"].target, created_at=n))
    try:  # new_login flushes: a username or e-mail registered at this very moment fails here
        user = accounts.new_login(employer, username, clean["contact_name"], clean["email"], password,
                                  ROLE_EMPLOYER, now=n)
    except IntegrityError:
        raise WorkflowError(REGISTRATION_TAKEN, "R1")
    for school in schools:
        notify(users_of(school_id=school.id), f"待审核单位：{name}", f"{name}（{code}）注册并申请本校审核。",
               link="/school/employers/", now=n)
    commit()
    return employer, user


@transition
def confirm_employer_profile(employer, values, now=None):
    """签约信息确认 (first login) and 基本信息维护 later: nature, region, contacts, 档案/户口接收 with
    the fields each choice needs. Offers copy the profile when they are sent."""
    n = utc(now)
    errors, clean = {}, {}
    profile_fields(values, errors, clean)
    archive_hukou(values, errors, clean)
    if errors:
        raise WorkflowError("签约信息填写有误，请按提示修改", "R1", errors)
    for field, value in clean.items():
        setattr(employer, field, value)
    if employer.profile_confirmed_at is None:
        employer.profile_confirmed_at = n
    commit()
    return employer
