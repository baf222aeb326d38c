"""Students' records and accounts: 账号激活 (SMS), 信息验证 (first login), 基本信息管理 (the
student's own 邮箱, 通讯地址 and 手机), 学生管理 (add, edit, 重置密码) and 限制签约. These change no
status; the identity printed on a live agreement is frozen (R19). R18: a school never sets or
learns a student's password; its change of a verified student's phone or e-mail and every reset
is recorded (accounts.record_event), told to the student's previous contact, and sends the
student back through 信息验证. The student's own change is recorded and told the same way."""
import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from . import labels
from .extensions import db
from .models import AccountEvent, AppUser, School, Student
from .notify import notify, users_of
from .passwords import password_problem
from .profiles import email_taken
from .workflow import WorkflowError, identity_frozen, identity_refusal
from .workflow.base import commit, lock_student, transition, utc
from .workflow.fields import contact_fields, mobile_field


def _own_student(reviewer, student):
    """A reviewer manages only its own school's students (404 on the pages; refused here)."""
    if not getattr(reviewer, "school_id", None) or student.school_id != reviewer.school_id:
        raise WorkflowError("只能管理本校学生", "R9")


@transition
def verify_student(student, email, address, code, now=None):
    """信息验证 on first login (R7): email, 通讯地址 and the SMS code sent to the phone on file."""
    from . import sms

    n = utc(now)
    errors, clean = {}, {}
    contact_fields({"email": email, "address": address}, errors, clean)
    email, address = clean["email"], clean["address"]
    proven = phone_proven(student)
    if not proven and not re.fullmatch(r"\d{6}", (code or "").strip()):
        errors["code"] = "请输入6位短信验证码"
    if errors:
        raise WorkflowError("信息验证未通过，请按提示修改", "R7", errors)
    user = db.session.scalar(select(AppUser).where(AppUser.student_id == student.id))
    if user is not None and email_taken(email, except_user_id=user.id):
        raise WorkflowError("该邮箱已被其他账号使用，请换一个邮箱", "R7", {"email": "该邮箱已被其他账号使用"})
    student = lock_student(student.id)
    if not proven:
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


# ---------------------------------------------------------------- 基本信息管理 (the student's own)

PHONE_CHANGE_PURPOSE = "phone_change"


@transition
def update_contact(student, values, now=None):
    """基本信息管理: the student's own 邮箱 and 通讯地址 (R15, as at 信息验证). A changed e-mail is
    recorded in 账号安全记录 and told to the previous address (R18); the student stays verified."""
    from . import accounts

    errors, clean = {}, {}
    contact_fields(values, errors, clean)
    user = accounts.login_of(student)
    if not errors and email_taken(clean["email"], except_user_id=user.id if user else None):
        errors["email"] = "该邮箱已被其他账号使用"
    if errors:
        raise WorkflowError("联系方式填写有误，请按提示修改", "R15", errors)
    student = lock_student(student.id)
    old_email = student.email
    student.email, student.address = clean["email"], clean["address"]
    if user is not None:
        old_login_email = user.email
        user.email = clean["email"]
        record_contact_changes(user, student.phone, student.phone, old_email, student.email, old_login_email,
                               None, now, actor=user)
    commit()
    return student


def _new_phone(student, phone, errors, clean):
    mobile_field({"phone": phone}, errors, clean, label="新手机号")
    if "phone" not in errors and clean["phone"] == student.phone:
        errors["phone"] = "新手机号与当前手机号相同"


def send_phone_code(student, phone, ip=None, now=None):
    """更换手机号, step 1: a code to the NEW number (R15: a mobile, not the current one). Raises
    WorkflowError for the input, sms.SmsError when a sending limit says no."""
    from . import sms

    errors, clean = {}, {}
    _new_phone(student, phone, errors, clean)
    if errors:
        raise WorkflowError(errors["phone"], "R15", errors)
    return sms.send_code(clean["phone"], ip=ip, student_id=student.id, purpose=PHONE_CHANGE_PURPOSE,
                         now=utc(now))


@transition
def change_phone(student, phone, code, password, now=None):
    """更换手机号, step 2: the code sent to the new number proves it, the login password proves the
    person (a borrowed session alone cannot move the account's recovery phone). Recorded in
    账号安全记录 and told to the previous phone and e-mail (R18); being the student's own change,
    it neither holds the new phone (contact_hold_until) nor asks for 信息验证 again."""
    from . import accounts, sms

    n = utc(now)
    errors, clean = {}, {}
    _new_phone(student, phone, errors, clean)
    if not re.fullmatch(r"\d{6}", (code or "").strip()):
        errors["code"] = "请输入6位短信验证码"
    user = accounts.login_of(student)
    if user is None or not accounts.check_password(user, password):
        errors["password"] = "登录密码不正确"
    if errors:
        raise WorkflowError(next(iter(errors.values())), "R18", errors)
    student = lock_student(student.id)
    try:
        sms.consume_code(clean["phone"], code, purpose=PHONE_CHANGE_PURPOSE, now=n)
    except sms.SmsError as exc:
        raise WorkflowError(str(exc), "R18", {"code": str(exc)})
    old_phone, student.phone = student.phone, clean["phone"]
    record_contact_changes(user, old_phone, student.phone, user.email, user.email, user.email, None, n, actor=user)
    commit()
    return student


@transition
def save_student(reviewer, values, student=None, now=None):
    """学生管理: add a student to the reviewer's school (with a login without a password: the
    student activates it by SMS) or edit one; a verified student's phone or e-mail change is
    recorded and told to the previous contact, and the student verifies again (R18). Validated by the same column spec as the roster import
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
            raise WorkflowError(refusal.message, refusal.rule, {f: refusal.message for f in changed})
    checked = roster_validate.check(Table(frame=pd.DataFrame([row], index=[1]), extra=[]), roster_spec.ROSTER)
    # Each reason beside its field, as on every other form (the form is one roster row).
    problems = dict(checked.fields.get(1, {}))
    unplaced = [reason for reason in checked.errors.get(1, []) if reason not in problems.values()]
    clean = checked.values.get(1, {})
    if not problems and not unplaced:
        clash = select(Student).where(Student.school_id == school_id,
                                      (Student.student_no == clean["student_no"]) | (Student.id_number == clean["id_number"]))
        if student is not None:
            clash = clash.where(Student.id != student.id)
        other = db.session.scalar(clash)
        if other is not None:
            key = "student_no" if other.student_no == clean["student_no"] else "id_number"
            problems[key] = f"{roster_spec.ROSTER.column(key).label}与本校学生{other.name}（{other.student_no}）重复"
        if clean.get("email"):
            login = accounts.login_of(student) if student is not None else None
            if email_taken(clean["email"], except_user_id=login.id if login else None):
                problems["email"] = "邮箱已被其他账号使用"
    if problems or unplaced:
        raise WorkflowError("；".join(unplaced) or "学生信息填写有误，请按提示修改", "R15", problems)
    clean["email"] = clean.get("email") or None
    plan = bool(values.get("plan_submitted"))
    if student is None:
        student = Student(school_id=school_id, plan_submitted=plan, **clean)
        db.session.add(student)
        db.session.flush()
        accounts.create_login(student, commit=False)
    else:
        old_no, old_phone, old_email = student.student_no, student.phone, student.email
        for key, value in clean.items():
            setattr(student, key, value)
        student.plan_submitted = plan
        user = accounts.login_of(student)
        if user is not None:
            old_login_email = user.email
            _contact_changes(reviewer, student, user, old_phone, old_email, old_login_email, now)
            accounts.update_login(user, student)
            if old_no != student.student_no:
                user.username = accounts.username_for(db.session.get(School, school_id).code, student.student_no)
    commit()
    return student


def _contact_changes(reviewer, student, user, old_phone, old_email, old_login_email, now):
    """R18: the school changed a verified student's phone or e-mail → record it (masked), tell the
    previous contact, and the student verifies again."""
    if student.verified_at is None:
        return
    if record_contact_changes(user, old_phone, student.phone, old_email, student.email, old_login_email,
                              _acted_by(reviewer), now, actor=reviewer):
        student.verified_at = None


def _acted_by(reviewer):
    school = reviewer.school.name if getattr(reviewer, "school", None) is not None else "学校"
    return reviewer.get_full_name(), school


def record_contact_changes(user, old_phone, new_phone, old_email, new_email, old_login_email, by, now,
                           actor=None):
    """The events and notices of one verified student's contact change (R18); True if anything
    changed (the caller then sets verified_at back to empty when somebody else changed it).
    `by`: (name, party) of who acted; None with `actor` the student's own login (基本信息管理)."""
    from . import accounts

    changes = []
    if (old_phone or "") != (new_phone or ""):
        changes.append(("phone_changed", labels.mask_phone(old_phone), labels.mask_phone(new_phone)))
    if (old_email or "") != (new_email or ""):
        changes.append(("email_changed", accounts.mask_email(old_email), accounts.mask_email(new_email)))
    for kind, old, new in changes:
        accounts.record_event(user, kind, actor=actor, old=old, new=new, now=now, by=None if actor else by)
    if changes:
        what = "、".join(f"{accounts.EVENT_KINDS[k]}（{o} → {n}）" for k, o, n in changes)
        who = "学校就业部门" if by is not None else "你在基本信息管理中"
        _tell_previous_contact(by, user, old_phone, old_login_email, f"{who}修改了你的账号联系方式：{what}。", now)
    return bool(changes)


def _tell_previous_contact(by, user, old_phone, old_email, text, now):
    """The notice goes where the student could read it BEFORE the change: the in-app box and the
    previous e-mail address (the login's, before update_login), and an SMS to the previous phone.
    `by`: (name, party) of the school or import that acted; None for the student's own change."""
    from . import sms

    n = utc(now)
    if by is None:
        body = f"{text}如非你本人操作，请立即修改密码并联系学校就业部门。"
    else:
        name, party = by
        body = (f"{text}操作人：{party} {name}。如非你本人申请，请立即联系学校就业部门"
                "并在登录页通过“首次登录 / 忘记密码”凭手机验证码重新设置密码。")
    notify([(user.id, old_email)], "账号安全提醒", body, now=n)
    if old_phone:
        sms.send(old_phone, f"{current_app.config['SMS_SIGN']}{text}如非本人申请，请立即联系学校就业部门。", now=n)


def record_roster_changes(school, changed, now=None):
    """The roster import (importing.import_roster) changed verified students' contacts: `changed`
    is [(student_id, user, old_phone, new_phone, old_email, new_email)] with `user` the login row
    (id, student_id, email). Records, notifies and clears verified_at; the caller commits."""
    from sqlalchemy import update

    by = ("导入学生生源", school.name)
    reverify = [sid for sid, user, op, np, oe, ne in changed
                if record_contact_changes(user, op, np, oe, ne, user.email, by, now)]
    if reverify:
        db.session.execute(update(Student).where(Student.id.in_(reverify)).values(verified_at=None)
                           .execution_options(synchronize_session=False))
    return len(reverify)


@transition
def reset_student_password(reviewer, student, now=None):
    """重置密码 by the school (R18): the login's password becomes unusable (the school never sets or
    learns one); the student sets a new one after an SMS code to the phone on file (账号激活),
    verifies again, and hears of it at the previous contact."""
    from . import accounts

    _own_student(reviewer, student)
    user = accounts.login_of(student)
    if user is None:
        user = accounts.create_login(student, commit=False)
    accounts.clear_password(user, reviewer, now=utc(now))
    student.verified_at = None
    _tell_previous_contact(_acted_by(reviewer), user, student.phone, user.email,
                           "学校就业部门重置了你的网签系统账号密码，原密码已失效。", now)
    commit()
    return user


# ---------------------------------------------------------------- 账号激活 / 忘记密码 (students)

ACTIVATE_PURPOSE = "activate"


def student_for_account(school_id, account):
    """学校 + 学号 or 身份证号 → (Student, login) or (None, None). The caller answers the same
    either way (no enumeration)."""
    account = (account or "").strip()
    school_id = labels.parse_id(school_id)
    if not account or school_id is None or len(account) > 40:
        return None, None
    row = db.session.execute(
        select(Student, AppUser).join(AppUser, AppUser.student_id == Student.id).where(
            Student.school_id == school_id,
            (Student.student_no == account) | (Student.id_number == account.upper()))).first()
    return (row[0], row[1]) if row else (None, None)


def send_activation_code(school_id, account, ip=None, now=None):
    """Step 1: a code to the phone the school has on file, if the account exists (SmsError only
    for a client-address limit; an unknown account or a per-phone limit answers like success)."""
    from . import sms

    student, user = student_for_account(school_id, account)
    if student is None or not user.active or not student.phone:
        return False
    try:
        return sms.send_code(student.phone, ip=ip, student_id=student.id, purpose=ACTIVATE_PURPOSE, now=now)
    except sms.SmsError as exc:
        if ip and "本网络" in str(exc):
            raise
        return False


@transition
def activate_student(school_id, account, code, password, now=None):
    """Step 2: the code proves the phone on file → the student's own password (账号激活 and
    忘记密码 alike). Proves the phone for 信息验证 too (`phone_proven`)."""
    from . import accounts, sms

    n = utc(now)
    problem = password_problem(password)
    if problem:
        raise WorkflowError(problem, "R18", {"password": problem})
    if not re.fullmatch(r"\d{6}", (code or "").strip()):
        raise WorkflowError("请输入6位短信验证码", "R18", {"code": "请输入6位短信验证码"})
    student, user = student_for_account(school_id, account)
    if student is None or not user.active:
        raise WorkflowError("验证码不正确", "R18", {"code": "验证码不正确"})  # as for a wrong code
    hold = contact_hold_until(student, user, n)
    if hold is not None:  # R18: a phone the school set is not yet a key to the account
        message = (f"学校近期变更了你的手机号。为保护账号安全，新手机号须在{labels.fmt_datetime(hold)}之后才能用于"
                   f"激活或找回密码；在此之前请用原密码登录。如非本人申请，请立即联系学校就业部门。")
        raise WorkflowError(message, "R18", {"code": message})
    try:
        sms.consume_code(student.phone, code, purpose=ACTIVATE_PURPOSE, now=n)
    except sms.SmsError as exc:
        raise WorkflowError(str(exc), "R18", {"code": str(exc)})
    accounts.set_password(user, password, kind="activated", now=n)
    commit()
    return user


def contact_hold_until(student, user, now=None):
    """R18: when the newest change of a verified student's phone was made by somebody other than
    the student within CONTACT_HOLD_HOURS, the end of that hold (naive UTC), else None. Until then
    the new phone does not set a password: the student, told on the previous phone and e-mail, has
    time to object, and a school cannot change the phone and take the account over at once."""
    hours = current_app.config.get("CONTACT_HOLD_HOURS", 72)
    newest = db.session.execute(
        select(AccountEvent.created_at, AccountEvent.actor_id).where(
            AccountEvent.student_id == student.id, AccountEvent.kind == "phone_changed")
        .order_by(AccountEvent.created_at.desc(), AccountEvent.id.desc()).limit(1)).first()
    # The student's own change (基本信息管理, proven by a code to the new phone) holds nothing.
    if newest is None or newest.actor_id == user.id or not hours:
        return None
    until = newest.created_at + timedelta(hours=hours)
    return until if utc(now) < until else None


def phone_proven(student):
    """Whether the phone on file was proven by an activation code since it last changed (and
    since the last reset): 信息验证 then needs no second code."""
    kind = db.session.scalar(
        select(AccountEvent.kind).where(AccountEvent.student_id == student.id,
                                        AccountEvent.kind.in_(("activated", "phone_changed", "password_reset")))
        .order_by(AccountEvent.created_at.desc(), AccountEvent.id.desc()).limit(1))
    return kind == "activated"


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
