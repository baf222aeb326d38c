"""Students' records and accounts: 信息验证 (first login), 学生管理 (add, edit, 重置密码) and
限制签约. These change no status; the identity printed on a live agreement is frozen (R19)."""
import re

from sqlalchemy import select

from . import labels
from .extensions import db
from .models import AppUser, School, Student
from .notify import notify, users_of
from .profiles import email_taken
from .workflow import WorkflowError, identity_frozen, identity_refusal
from .workflow.base import commit, lock_student, transition, utc
from .workflow.fields import valid_email


def _own_student(reviewer, student):
    """A reviewer manages only its own school's students (404 on the pages; refused here)."""
    if not getattr(reviewer, "school_id", None) or student.school_id != reviewer.school_id:
        raise WorkflowError("只能管理本校学生", "R9")


@transition
def verify_student(student, email, address, code, now=None):
    """信息验证 on first login (R7): email, 通讯地址 and the SMS code sent to the phone on file."""
    from . import sms

    n = utc(now)
    errors = {}
    email = (email or "").strip()
    address = (address or "").strip()
    if not valid_email(email):
        errors["email"] = "请输入正确的邮箱"
    if not address or len(address) > 200:
        errors["address"] = "请输入通讯地址（200字以内）"
    if not re.fullmatch(r"\d{6}", (code or "").strip()):
        errors["code"] = "请输入6位短信验证码"
    if errors:
        raise WorkflowError("信息验证未通过，请按提示修改", "R7", errors)
    user = db.session.scalar(select(AppUser).where(AppUser.student_id == student.id))
    if user is not None and email_taken(email, except_user_id=user.id):
        raise WorkflowError("该邮箱已被其他账号使用，请换一个邮箱", "R7", {"email": "该邮箱已被其他账号使用"})
    student = lock_student(student.id)
    try:
        sms.consume_code(student.phone, code, now=n)
    except sms.SmsError as exc:
        raise WorkflowError(str(exc), "R7", {"code": str(exc)})
    student.email, student.address = email, address
    if user is not None:
        user.email = email  # the placeholder address of a roster login is replaced here
    if student.verified_at is None:
        student.verified_at = n
    commit()
    return student


@transition
def save_student(reviewer, values, student=None, now=None):
    """学生管理: add a student to the reviewer's school (with a login: the documented initial password,
    changed at first login) or edit one. Validated by the same column spec as the roster import
    (imports.ROSTER), so a form and a spreadsheet accept exactly the same values."""
    import pandas as pd

    from imports import spec as roster_spec, validate as roster_validate
    from imports.reader import Table

    from . import accounts

    school_id = getattr(reviewer, "school_id", None)
    if not school_id:
        raise WorkflowError("只有学校就业部门老师可以管理学生", "R9")
    if student is not None:
        _own_student(reviewer, student)
    keys = [c.key for c in roster_spec.ROSTER.columns]
    row = {k: str(values.get(k) or "").strip() for k in keys}
    if row["training_mode"] in ("non_targeted", "targeted"):  # the form sends codes, the file labels
        row["training_mode"] = labels.TRAINING_MODE[row["training_mode"]]
    if student is not None:  # R19: the identity printed on a live agreement stays as printed
        changed = {f for f in ("name", "id_number") if row[f].upper() != (getattr(student, f) or "").upper()}
        refusal = identity_refusal(changed)
        if refusal is not None and student.id in identity_frozen([student.id]):
            raise refusal.error()
    checked = roster_validate.check(Table(frame=pd.DataFrame([row], index=[1]), extra=[]), roster_spec.ROSTER)
    problems = list(checked.errors.get(1, []))
    clean = checked.values.get(1, {})
    if not problems:
        clash = select(Student).where(Student.school_id == school_id,
                                      (Student.student_no == clean["student_no"]) | (Student.id_number == clean["id_number"]))
        if student is not None:
            clash = clash.where(Student.id != student.id)
        other = db.session.scalar(clash)
        if other is not None:
            problems.append(f"学号或身份证号与本校学生{other.name}（{other.student_no}）重复")
        if clean.get("email"):
            login = accounts.login_of(student) if student is not None else None
            if email_taken(clean["email"], except_user_id=login.id if login else None):
                problems.append("邮箱已被其他账号使用")
    if problems:
        raise WorkflowError("；".join(problems), "R15")
    clean["email"] = clean.get("email") or None
    plan = bool(values.get("plan_submitted"))
    if student is None:
        student = Student(school_id=school_id, plan_submitted=plan, **clean)
        db.session.add(student)
        db.session.flush()
        accounts.create_login(student, commit=False)
    else:
        old_no = student.student_no
        for key, value in clean.items():
            setattr(student, key, value)
        student.plan_submitted = plan
        user = accounts.login_of(student)
        if user is not None:
            accounts.update_login(user, student)
            if old_no != student.student_no:
                user.username = accounts.username_for(db.session.get(School, school_id).code, student.student_no)
    commit()
    return student


@transition
def reset_student_password(reviewer, student, now=None):
    """重置密码 by the school: back to the documented initial password, changed at next login."""
    from . import accounts

    _own_student(reviewer, student)
    user = accounts.login_of(student)
    if user is None:
        user = accounts.create_login(student, commit=False)
    else:
        accounts.initial_password(student)  # the rule's complexity check
        user.password = accounts.INITIAL_PASSWORD_MARKER
        user.must_change_password = True
        user.fail_login_count = 0
    # The initial password derives from the ID number: whoever logs in next must also pass the
    # SMS check on the phone on file before using the account.
    student.verified_at = None
    commit()
    return user


@transition
def set_signing_restricted(reviewer, students, restricted, now=None):
    """限制签约 / 解除限制 (R7) for the reviewer's own students."""
    n = utc(now)
    students = list(students)
    for student in students:
        _own_student(reviewer, student)
    for student in students:
        student.signing_restricted = bool(restricted)
        notify(users_of(student_id=student.id), "签约限制已变更",
               "学校已限制你网上签约，如有疑问请联系学校就业部门老师。" if restricted
               else "学校已解除对你的签约限制。", now=n)
    commit()
    return students
