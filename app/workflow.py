"""Transitions and rules (DESIGN.md §3–§5). The only code that assigns a `status`.

Every public function checks all its rules first, then writes the change, its FlowEvent and the
notifications and commits once. A refusal is a `WorkflowError` carrying a Chinese message and
the rule number; nothing is written then.

Concurrency (R3, R6, R9): functions that can make an outcome live lock the student row first
(SELECT … FOR UPDATE; on SQLite a no-op UPDATE that takes the write lock, see `_locked`), then
re-read the agreement; partial unique indexes back the checks up, and their IntegrityError becomes the same
WorkflowError. Lock order is always student → agreement → counter, so calls cannot deadlock.
"""
import re
from datetime import date, datetime, time, timedelta, timezone
from functools import partial

from flask import current_app, has_request_context
from imports.validate import is_email
from sqlalchemy import String, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from . import documents, labels, regions, uploads
from .extensions import db
from .models import (
    LIVE_AGREEMENT_STATUSES,
    LIVE_DESTINATION_STATUSES,
    OPEN_TERMINATION_STATUSES,
    Agreement,
    AppUser,
    Destination,
    Employer,
    EmployerApproval,
    FlowEvent,
    NumberCounter,
    Notification,
    School,
    Student,
    Termination,
)
from .notify import notify, users_of


class WorkflowError(Exception):
    """A rule said no. `rule` is the DESIGN.md rule number ("R6"), `fields` maps form fields
    to their messages when the refusal is about input (R15)."""

    def __init__(self, message, rule=None, fields=None):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.fields = fields or {}

    def __str__(self):
        return f"{self.message}（{self.rule}）" if self.rule else self.message


# The transition table: action → (allowed source statuses, target status, who may).
TRANSITIONS = {
    "accept": ({"pending"}, "accepted", "student"),
    "reject": ({"pending"}, "rejected", "student"),
    "expire": ({"pending"}, "expired", "system"),
    "amend": ({"pending", "accepted"}, "pending", "employer"),
    "certify": ({"accepted"}, "certified", "school"),
    "decline": ({"accepted"}, "declined", "school"),
    "withdraw": ({"certified"}, "accepted", "school"),
    "terminate": ({"certified"}, "terminated", "school"),
}

REFUSED_FROM = {
    "accept": "该邀约当前状态为“{status}”，不能应约",
    "reject": "该邀约当前状态为“{status}”，不能拒绝",
    "amend": "该协议书当前状态为“{status}”，不能修改邀约；学校已审核的协议书请先办理解约，再重新签约",
    "certify": "该协议书当前状态为“{status}”，不能审核通过",
    "decline": "该协议书当前状态为“{status}”，不能审核不通过",
    "withdraw": "该协议书当前状态为“{status}”，不能撤回审核",
}


def _check_move(agreement, action):
    """Raise unless the transition table allows `action` from the agreement's status; no change."""
    sources, target, _who = TRANSITIONS[action]
    if agreement.status not in sources:
        status = labels.label(labels.AGREEMENT_STATUS, agreement.status)
        rule = "R8" if action == "amend" else None
        raise WorkflowError(REFUSED_FROM[action].format(status=status), rule)
    return target


def _move(agreement, action):
    agreement.status = _check_move(agreement, action)


# ---------------------------------------------------------------- time helpers

def _utc(now):
    """Aware (or naive UTC) datetime → naive UTC, the storage form."""
    if now is None:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc).replace(tzinfo=None)
    return now


def expiry_instant(sent_utc, feedback_days):
    """R4: 24:00 (Asia/Shanghai) of day `sent + feedback_days`, as naive UTC."""
    sent_local = labels.local(sent_utc)
    last_day = sent_local.date() + timedelta(days=feedback_days)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=labels.SHANGHAI)
    return end.astimezone(timezone.utc).replace(tzinfo=None)


def version_of(agreement):
    """What the student read: changes whenever the offer is amended (R8)."""
    return agreement.updated_at.isoformat()


def effective_status(agreement, now=None):
    """R4 on read: a pending offer past its deadline is expired even before the job runs."""
    if agreement.status == "pending" and _utc(now) >= agreement.expires_at:
        return "expired"
    return agreement.status


def pending_clause(now=None):
    """SQL for 'still answerable' (待应约): pending and not past its deadline."""
    return and_(Agreement.status == "pending", Agreement.expires_at > _utc(now))


def expired_clause(now=None):
    """SQL for 已过期, including offers the job has not marked yet (R4)."""
    n = _utc(now)
    return (Agreement.status == "expired") | and_(Agreement.status == "pending", Agreement.expires_at <= n)


# ---------------------------------------------------------------- actor helpers

def _current_user_id():
    if not has_request_context():
        return None
    from flask_login import current_user

    return getattr(current_user, "id", None) if current_user and current_user.is_authenticated else None


def _event(actor_name, action, remark=None, now=None, **target):
    db.session.add(FlowEvent(
        actor_name=actor_name, action=action, remark=remark, user_id=_current_user_id(),
        created_at=_utc(now), **target,
    ))


def _reviewer_school_id(reviewer):
    school_id = getattr(reviewer, "school_id", None)
    if not school_id or isinstance(reviewer, (Student, Employer)):
        raise WorkflowError("只有学校就业部门老师可以审核", "R9")
    return school_id


def _own_school(reviewer, row, message="只能审核本校学生的协议书", rule="R9"):
    """R9: a reviewer acts only on its own school's rows (agreements, approvals, students)."""
    school_id = _reviewer_school_id(reviewer)
    if row.school_id != school_id:
        raise WorkflowError(message, rule)
    return school_id


def _locked(model, pk):
    """Re-read a row under SELECT … FOR UPDATE. SQLite has no row locks and pysqlite starts its
    transaction only at the first write, so there a no-op UPDATE takes the database's write lock
    first: a second writer waits (busy timeout) until this transaction ends, and every read after
    the lock sees what the first one committed — the same serialisation FOR UPDATE gives (R6)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(model).where(model.id == pk).values(id=model.id)
                           .execution_options(synchronize_session=False))
    return db.session.execute(
        select(model).where(model.id == pk).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def _lock_student(student_id):
    return _locked(Student, student_id)


def _lock_agreement(agreement_id):
    return _locked(Agreement, agreement_id)


def _commit():
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def transition(func):
    """A refused rule leaves nothing behind: roll back (and release row locks) and re-raise."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
    return wrapper


# ---------------------------------------------------------------- rules as checks (no side effects)

def employer_may_offer(employer):
    """R1."""
    if employer.profile_confirmed_at is None:
        raise WorkflowError("请先完成签约信息确认，再发送邀约", "R1")
    approved = db.session.scalar(
        select(func.count()).select_from(EmployerApproval).where(
            EmployerApproval.employer_id == employer.id, EmployerApproval.status == "approved"
        )
    )
    if not approved:
        raise WorkflowError("单位尚未通过任一学校审核，暂不能发送邀约", "R1")


def student_block_reason(student):
    """R7: why this student may not sign (or be found), or None."""
    if student.verified_at is None:
        return "尚未完成首次登录信息验证"
    if student.signing_restricted:
        return "已被学校限制签约"
    if student.training_mode == "targeted":
        return "培养方式为定向"
    if student.plan_submitted:
        return "已提交就业方案"
    return None


def live_outcome_exists(student_id, exclude_agreement_id=None):
    """R6: an accepted/certified agreement or a submitted/approved destination."""
    q = select(func.count()).select_from(Agreement).where(
        Agreement.student_id == student_id, Agreement.status.in_(LIVE_AGREEMENT_STATUSES)
    )
    if exclude_agreement_id is not None:
        q = q.where(Agreement.id != exclude_agreement_id)
    if db.session.scalar(q):
        return True
    return bool(db.session.scalar(
        select(func.count()).select_from(Destination).where(
            Destination.student_id == student_id, Destination.status.in_(LIVE_DESTINATION_STATUSES)
        )
    ))


def open_termination(agreement_id):
    return db.session.scalar(
        select(Termination).where(
            Termination.agreement_id == agreement_id, Termination.status.in_(OPEN_TERMINATION_STATUSES)
        )
    )


# ---------------------------------------------------------------- R15: offer terms

TERM_FIELDS = (
    "job_category", "position", "feedback_days", "probation_days", "probation_salary", "salary",
    "penalty", "report_region", "report_deadline", "work_region", "contact_name", "contact_phone",
    "archive_mode", "archive_unit", "archive_address", "archive_postcode", "archive_contact",
    "archive_phone", "hukou_mode", "hukou_address",
)
ARCHIVE_DETAIL_FIELDS = ("archive_unit", "archive_address", "archive_postcode", "archive_contact", "archive_phone")
MONEY_MAX = 10_000_000
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_POSTCODE = re.compile(r"^\d{6}$")


def valid_phone(value):
    return bool(value) and bool(_MOBILE.match(value) or _LANDLINE.match(value))


def _as_int(value):
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"-?\d+", text):
        raise ValueError
    return int(text)


def _as_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def _text_field(values, errors, clean, name, label, max_len, required=True):
    """A trimmed text field (R15): 请输入… / …不能超过N个字 into `errors`, the value or None into `clean`."""
    value = str(values.get(name) or "").strip()
    if required and not value:
        errors[name] = f"请输入{label}"
    elif len(value) > max_len:
        errors[name] = f"{label}不能超过{max_len}个字"
    clean[name] = value or None


def validate_terms(terms, now=None):
    """R15. Returns a clean dict of the offer terms or raises WorkflowError with `fields`."""
    errors, clean = {}, {}
    text_field = partial(_text_field, terms, errors, clean)

    def int_field(name, label, lo=0, hi=MONEY_MAX):
        raw = terms.get(name)
        if raw is None or str(raw).strip() == "":
            errors[name] = f"请输入{label}"
            return
        try:
            value = _as_int(raw)
        except (ValueError, TypeError):
            errors[name] = f"{label}须为整数"
            return
        if value < lo:
            errors[name] = f"{label}不能小于{lo}"
        elif value > hi:
            errors[name] = f"{label}不能大于{hi}"
        else:
            clean[name] = value

    category = str(terms.get("job_category") or "").strip()
    if category not in labels.JOB_CATEGORY:
        errors["job_category"] = "请选择工作职位类别"
    clean["job_category"] = category
    text_field("position", "拟聘用职位", 100)
    int_field("feedback_days", "反馈有效期", lo=1, hi=30)
    int_field("probation_days", "试用期", hi=180)  # R15: probation ≤ 180 days (劳动合同法 第19条)
    int_field("probation_salary", "试用起薪")
    int_field("salary", "转正起薪")
    int_field("penalty", "违约金")
    if "salary" in clean and "probation_salary" in clean:
        # R15: 劳动合同法 第20条 — probation pay ≥ 80% of the regular pay.
        if clean["probation_salary"] * 5 < clean["salary"] * 4:
            errors["probation_salary"] = "试用起薪不得低于转正起薪的80%（劳动合同法第二十条）"
    for name, label in (("report_region", "报到地点"), ("work_region", "实际工作地点")):
        code = str(terms.get(name) or "").strip()
        if not regions.is_valid(code):
            errors[name] = f"请选择{label}"
        clean[name] = code
    try:
        deadline = _as_date(terms.get("report_deadline"))
        if deadline <= labels.local(_utc(now)).date():
            errors["report_deadline"] = "报到期限须晚于今天"
        clean["report_deadline"] = deadline
    except (ValueError, TypeError):
        errors["report_deadline"] = "请选择报到期限（格式 2026-07-01）"
    text_field("contact_name", "签约联系人", 50)
    phone = str(terms.get("contact_phone") or "").strip()
    if not valid_phone(phone):
        errors["contact_phone"] = "联系电话格式不正确（手机号或带区号的固定电话）"
    clean["contact_phone"] = phone

    _archive_hukou(terms, errors, clean)
    if errors:
        raise WorkflowError("邀请函填写有误，请按提示修改", "R15", errors)
    return clean


def _archive_hukou(values, errors, clean):
    """档案接收 / 户口接收 with their dependent fields (R15): forwarding details are required when
    the archive is received or forwarded and dropped when 单位不接收; likewise the hukou address."""
    text_field = partial(_text_field, values, errors, clean)
    archive_mode = str(values.get("archive_mode") or "").strip()
    if archive_mode not in labels.ARCHIVE_MODE:
        errors["archive_mode"] = "请选择档案接收方式"
    clean["archive_mode"] = archive_mode
    if archive_mode in ("employer", "forward"):
        text_field("archive_unit", "档案转寄单位名称", 200)
        text_field("archive_address", "档案转递地址", 200)
        text_field("archive_contact", "档案转递联系人", 50)
        postcode = str(values.get("archive_postcode") or "").strip()
        if not _POSTCODE.match(postcode):
            errors["archive_postcode"] = "档案转递邮编须为6位数字"
        clean["archive_postcode"] = postcode
        archive_phone = str(values.get("archive_phone") or "").strip()
        if not valid_phone(archive_phone):
            errors["archive_phone"] = "档案转递联系电话格式不正确"
        clean["archive_phone"] = archive_phone
    else:  # 单位不接收: no forwarding details are kept
        for name in ARCHIVE_DETAIL_FIELDS:
            clean[name] = None
    hukou_mode = str(values.get("hukou_mode") or "").strip()
    if hukou_mode not in labels.HUKOU_MODE:
        errors["hukou_mode"] = "请选择户口接收类型"
    clean["hukou_mode"] = hukou_mode
    if hukou_mode in ("employer", "forward"):
        text_field("hukou_address", "户口接收地址", 200)
    else:
        clean["hukou_address"] = None


def terms_from_profile(employer, feedback_days=None):
    """The archive/hukou part of an offer, prefilled from the employer's signing profile."""
    return {
        "feedback_days": feedback_days or current_app.config["FEEDBACK_DAYS_DEFAULT"],
        "contact_name": employer.contact_name,
        "contact_phone": employer.contact_phone,
        "work_region": employer.region,
        "report_region": employer.region,
        **{f: getattr(employer, f) for f in ("archive_mode",) + ARCHIVE_DETAIL_FIELDS + ("hukou_mode", "hukou_address")},
    }


# ---------------------------------------------------------------- R9: numbers

def _next_sequence(school_id, year):
    """Atomic per-school, per-year counter: the row lock of UPDATE … RETURNING hands each
    caller a distinct value, and a rolled-back caller's value is never reused by a committed one."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    db.session.execute(
        dialect_insert(NumberCounter).values(school_id=school_id, year=year, last=0)
        .on_conflict_do_nothing(index_elements=["school_id", "year"])
    )
    return db.session.execute(
        update(NumberCounter)
        .where(NumberCounter.school_id == school_id, NumberCounter.year == year)
        .values(last=NumberCounter.last + 1)
        .returning(NumberCounter.last)
    ).scalar_one()


def agreement_number(kind, year, school_code, sequence):
    """R9: kind digit + year + school code + 5-digit sequence, e.g. 120262048600001."""
    if sequence > 99999:
        raise WorkflowError("本校本年度协议书编号已用尽，请联系省就业中心", "R9")
    return f"{1 if kind == 'electronic' else 2}{year:04d}{school_code}{sequence:05d}"


# ---------------------------------------------------------------- transitions

@transition
def invite(employer, students, terms, now=None):
    """发送签约邀请 to one or many students; all or nothing. Returns agreements in order."""
    n = _utc(now)
    employer_may_offer(employer)  # R1
    clean = validate_terms(terms, now)  # R15
    students = list(students)
    if not students:
        raise WorkflowError("请选择要邀约的学生")
    if len({s.id for s in students}) != len(students):
        raise WorkflowError("同一学生不能在一次邀约中出现两次", "R3")
    problems = []
    for student in students:
        reason = student_block_reason(student)  # R7
        if reason:
            problems.append(f"{student.name}（{reason}）")
    if problems:
        raise WorkflowError("以下学生暂不能接收邀约：" + "、".join(problems), "R7")
    ids = [s.id for s in students]
    # R4: offers past their deadline stop blocking a new one even if the job has not run.
    _expire_where(n, Agreement.employer_id == employer.id, Agreement.student_id.in_(ids))
    busy = db.session.scalars(
        select(Agreement.student_id).where(
            Agreement.employer_id == employer.id, Agreement.student_id.in_(ids), Agreement.status == "pending"
        )
    ).all()
    if busy:
        names = "、".join(s.name for s in students if s.id in set(busy))
        raise WorkflowError(f"已向{names}发出邀约且尚在应约有效期内，学生拒绝或邀约过期后方可再次邀约", "R3")

    expires = expiry_instant(n, clean["feedback_days"])
    by_student = {}
    # Insert in student-id order whatever order the caller gave: concurrent invites (and the
    # expiry job) then take their index-entry locks in the same order and cannot deadlock.
    for student in sorted(students, key=lambda s: s.id):
        agreement = Agreement(
            kind="electronic", status="pending", student_id=student.id, school_id=student.school_id,
            employer_id=employer.id, employer_name=employer.name, employer_credit_code=employer.credit_code,
            sent_at=n, expires_at=expires, updated_at=n, **clean,
        )
        db.session.add(agreement)
        by_student[student.id] = agreement
    try:
        db.session.flush()
    except IntegrityError:  # R3 race: another request inserted the same pending offer
        raise WorkflowError("该学生已有本单位待应约的邀约", "R3")
    created = [by_student[s.id] for s in students]
    for agreement, student in zip(created, students):
        _event(employer.name, "invite", None, n, agreement_id=agreement.id)
        notify(users_of(student_id=student.id), f"{employer.name}向你发出签约邀请",
               f"{student.name}同学：{employer.name}拟录用你为“{agreement.position}”，请于"
               f"{labels.fmt_date(labels.deadline_date(expires))} 24时之前登录系统应约。",
               link=f"/student/offers/{agreement.id}", now=n)
    _commit()
    return created


@transition
def accept(student, agreement, now=None, seen_version=None):
    """同意签约 (after 签约前必读 + 现在签约 on screen).

    `seen_version` is the `updated_at` of the letter the student read (the page sends it back):
    if the employer amended the offer meanwhile, the student must read it again (R8)."""
    n = _utc(now)
    if agreement.student_id != student.id:
        raise WorkflowError("只能处理发给本人的邀约")
    student = _lock_student(student.id)  # R6: serialise this student's accepts
    agreement = _lock_agreement(agreement.id)
    if agreement.kind != "electronic":
        raise WorkflowError("纸质协议书不能在此应约")
    if agreement.status == "pending" and n >= agreement.expires_at:
        raise WorkflowError("该邀约已过应约有效期，不能再应约", "R4")
    if seen_version is not None and seen_version != version_of(agreement):
        raise WorkflowError("单位刚刚修改了邀请函，请重新阅读后再应约", "R8")
    # Check only: the status changes after the R6 query below, or its autoflush would hit the
    # partial unique index and raise IntegrityError instead of the R6 refusal.
    _check_move(agreement, "accept")
    cooling = timedelta(minutes=current_app.config["COOLING_OFF_MINUTES"])
    # R5/R8: cooling-off runs from the first sending; an amendment does not start a second one.
    if n < agreement.sent_at + cooling:
        ready = labels.fmt_datetime(agreement.sent_at + cooling)
        raise WorkflowError(f"单位邀约后{current_app.config['COOLING_OFF_MINUTES']}分钟内为冷静期，"
                            f"请于{ready}之后再应约", "R5")
    reason = student_block_reason(student)
    if reason:
        raise WorkflowError(f"你目前不能签约：{reason}", "R7")
    if live_outcome_exists(student.id, exclude_agreement_id=agreement.id):
        raise WorkflowError("你已有生效或待审核的签约/其他去向，其他邀请函只能查看", "R6")
    _move(agreement, "accept")
    agreement.accepted_at = agreement.answered_at = agreement.updated_at = n
    try:
        db.session.flush()
    except IntegrityError:  # R6 backstop: the partial unique index
        raise WorkflowError("你已有生效或待审核的签约，不能再应约", "R6")
    _event("学生本人", "accept", None, n, agreement_id=agreement.id)
    notify(users_of(employer_id=agreement.employer_id), f"{student.name}同意签约",
           f"{student.name}已同意贵单位“{agreement.position}”岗位的邀约，等待学校鉴证。",
           link=f"/employer/offers/{agreement.id}", now=n)
    notify(users_of(school_id=agreement.school_id), f"待审核：{student.name}与{agreement.employer_name}",
           f"{student.name}与{agreement.employer_name}已达成签约意向，请审核。",
           link=f"/school/review/{agreement.id}", now=n)
    _commit()
    return agreement


@transition
def reject(student, agreement, now=None):
    n = _utc(now)
    if agreement.student_id != student.id:
        raise WorkflowError("只能处理发给本人的邀约")
    agreement = _lock_agreement(agreement.id)
    if agreement.status == "pending" and n >= agreement.expires_at:
        raise WorkflowError("该邀约已过应约有效期", "R4")
    _move(agreement, "reject")
    agreement.answered_at = agreement.updated_at = n
    _event("学生本人", "reject", None, n, agreement_id=agreement.id)
    notify(users_of(employer_id=agreement.employer_id), f"{student.name}拒绝了邀约",
           f"{student.name}拒绝了贵单位“{agreement.position}”岗位的邀约，单位可重新发起邀约。",
           link=f"/employer/offers/{agreement.id}", now=n)
    _commit()
    return agreement


@transition
def amend(employer, agreement, terms, now=None):
    """修改邀约 before certification (R8); the student answers again."""
    n = _utc(now)
    if agreement.employer_id != employer.id:
        raise WorkflowError("只能修改本单位发出的邀约")
    clean = validate_terms(terms, now)
    agreement = _lock_agreement(agreement.id)
    if agreement.status == "pending" and n >= agreement.expires_at:
        raise WorkflowError("该邀约已过期，请重新发起邀约", "R4")
    if agreement.number is not None:
        # R8: once certified (even if the review was withdrawn since) only termination changes it.
        raise WorkflowError("该协议书已经学校鉴证并编号，不能修改邀约；请先办理解约，再重新签约", "R8")
    was = agreement.status
    changed = [f for f in TERM_FIELDS if getattr(agreement, f) != clean[f]]
    if not changed:
        raise WorkflowError("邀请函内容没有变化")
    if was == "accepted":
        # R3: the employer may have sent this student a newer offer since the acceptance;
        # turning this one back to pending would make two pending offers (overdue ones don't count).
        pair = (Agreement.employer_id == agreement.employer_id, Agreement.student_id == agreement.student_id,
                Agreement.id != agreement.id)
        _expire_where(n, *pair)
        if db.session.scalar(select(func.count()).select_from(Agreement).where(
                Agreement.status == "pending", *pair)):
            raise WorkflowError("本单位已向该学生发出另一份待应约的邀约，待学生处理或该邀约过期后再修改本协议书", "R3")
    _move(agreement, "amend")
    for field, value in clean.items():
        setattr(agreement, field, value)
    agreement.expires_at = expiry_instant(n, clean["feedback_days"])
    agreement.accepted_at = agreement.answered_at = None
    agreement.updated_at = n
    try:
        db.session.flush()
    except IntegrityError:  # R3 race: a new pending offer was inserted concurrently
        raise WorkflowError("本单位已向该学生发出另一份待应约的邀约", "R3")
    _event(employer.name, "amend", "修改：" + "、".join(TERM_LABELS.get(f, f) for f in changed), n,
           agreement_id=agreement.id)
    notify(users_of(student_id=agreement.student_id), f"{employer.name}修改了邀请函",
           f"{employer.name}修改了“{agreement.position}”岗位的邀请函，请重新查看并应约。",
           link=f"/student/offers/{agreement.id}", now=n)
    if was == "accepted":
        notify(users_of(school_id=agreement.school_id), "协议书已被单位修改",
               f"{agreement.employer_name}修改了已应约的协议书，学生重新应约后再审核。", now=n)
    _commit()
    return agreement


@transition
def certify(reviewer, agreement, now=None):
    """签约审核通过: assigns the number (R9) unless it kept one from before a withdrawal (R10)."""
    n = _utc(now)
    school_id = _own_school(reviewer, agreement)
    _lock_student(agreement.student_id)
    agreement = _lock_agreement(agreement.id)
    _move(agreement, "certify")
    if agreement.number is None:
        student = db.session.get(Student, agreement.student_id)
        school = db.session.get(School, school_id)
        seq = _next_sequence(school_id, student.graduation_year)
        agreement.number = agreement_number(agreement.kind, student.graduation_year, school.code, seq)
    agreement.certified_at = agreement.reviewed_at = agreement.updated_at = n
    agreement.review_reason = None
    documents.seal(agreement)
    _event(_reviewer_name(reviewer), "certify", None, n, agreement_id=agreement.id)
    _notify_parties(agreement, "协议书已鉴证生效",
                    f"{agreement.employer_name}与学生的协议书已通过学校鉴证，协议书编号 {agreement.number}。", n)
    _commit()
    return agreement


@transition
def decline(reviewer, agreement, reason, now=None):
    """签约审核不通过 with a reason (R9); the student may sign with others again."""
    n = _utc(now)
    _own_school(reviewer, agreement)
    reason = _reason(reason, "请填写审核不通过原因", "R9")
    agreement = _lock_agreement(agreement.id)
    _move(agreement, "decline")
    agreement.reviewed_at = agreement.updated_at = n
    agreement.review_reason = reason
    _event(_reviewer_name(reviewer), "decline", reason, n, agreement_id=agreement.id)
    _notify_parties(agreement, "协议书审核不通过", f"学校审核不通过，原因：{reason}", n)
    _commit()
    return agreement


@transition
def withdraw_certification(reviewer, agreement, reason, now=None):
    """撤回审核 (R10): back to accepted, the number is kept."""
    n = _utc(now)
    _own_school(reviewer, agreement, "只能撤回本校学生协议书的审核")
    reason = _reason(reason, "请填写撤回审核原因", "R10")
    agreement = _lock_agreement(agreement.id)
    if open_termination(agreement.id) is not None:
        raise WorkflowError("该协议书有正在办理的解约，不能撤回审核", "R10")
    _move(agreement, "withdraw")
    agreement.certified_at = None
    agreement.reviewed_at = agreement.updated_at = n
    _event(_reviewer_name(reviewer), "withdraw", reason, n, agreement_id=agreement.id)
    _notify_parties(agreement, "学校撤回了协议书审核", f"学校撤回了对协议书 {agreement.number} 的审核，原因：{reason}", n)
    _commit()
    return agreement


def _expire_where(n, *conditions):
    """Mark overdue pending offers expired, set-based, and write their FlowEvents and notices.

    The WHERE re-checks `status = 'pending'` under the row lock, so two concurrent runs (or a run
    racing an accept) expire each offer exactly once; RETURNING tells this run which rows it won.
    The FlowEvents and the employers' notices are two INSERT … SELECT over those rows (no
    row-by-row round trips): on PostgreSQL all three are one statement of data-modifying CTEs, so
    no id list travels to the app and back; SQLite runs them over the returned ids in chunks."""
    sources, target, _ = TRANSITIONS["expire"]
    expire = (update(Agreement)
              .where(Agreement.status.in_(sources), Agreement.expires_at <= n, *conditions)
              .values(status=target, updated_at=n))
    if db.session.get_bind().dialect.name == "postgresql":
        expired = expire.returning(Agreement.id, Agreement.employer_id, Agreement.position).cte("expired")
        events, notices = _expiry_inserts(expired, n)
        count = db.session.execute(select(func.count()).select_from(expired).add_cte(
            events.returning(FlowEvent.id).cte("events"),
            notices.returning(Notification.id).cte("notices"))).scalar_one()
    else:
        ids = db.session.scalars(expire.returning(Agreement.id)
                                 .execution_options(synchronize_session=False)).all()
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            won = (select(Agreement.id, Agreement.employer_id, Agreement.position)
                   .where(Agreement.id.in_(ids[start:start + 900])).subquery("expired"))
            for statement in _expiry_inserts(won, n):
                db.session.execute(statement)
        count = len(ids)
    if count:
        from .jobs.mail import schedule_after_commit

        schedule_after_commit()
    return count


def _expiry_inserts(expired, n):
    """The FlowEvent and the employer notices for each row of `expired` (id, employer_id, position)."""
    from sqlalchemy import case, literal

    events = insert(FlowEvent).from_select(
        ["agreement_id", "actor_name", "action", "remark", "created_at"],
        select(expired.c.id, literal("系统"), literal("expire"), literal("超过应约有效期未反馈"), literal(n)))
    notices = insert(Notification).from_select(
        ["user_id", "email", "subject", "body", "link", "created_at", "email_status", "attempts"],
        select(AppUser.id, AppUser.email, literal("邀约已过期"),
               literal("“") + expired.c.position + literal("”岗位的一份邀约已超过应约有效期，单位可重新发起邀约。"),
               literal("/employer/offers/") + func.cast(expired.c.id, String),
               literal(n), case((AppUser.email.isnot(None), "pending"), else_="none"), literal(0))
        .join_from(expired, AppUser, AppUser.employer_id == expired.c.employer_id)
        .where(AppUser.active.is_(True)))
    return events, notices


@transition
def expire_due(now=None):
    """Mark every overdue offer expired (R4). Safe to run twice or concurrently. Returns the count."""
    n = _utc(now)
    count = _expire_where(n)
    _commit()
    return count


# ---------------------------------------------------------------- small helpers

TERM_LABELS = {
    "job_category": "工作职位类别", "position": "拟聘用职位", "feedback_days": "反馈有效期",
    "probation_days": "试用期", "probation_salary": "试用起薪", "salary": "转正起薪", "penalty": "违约金",
    "report_region": "报到地点", "report_deadline": "报到期限", "work_region": "实际工作地点",
    "contact_name": "签约联系人", "contact_phone": "联系电话", "archive_mode": "档案接收",
    "archive_unit": "档案转寄单位名称", "archive_address": "档案转递地址", "archive_postcode": "档案转递邮编",
    "archive_contact": "档案转递联系人", "archive_phone": "档案转递联系电话", "hukou_mode": "户口接收类型",
    "hukou_address": "户口接收地址",
}


def _reason(reason, empty_message, rule, max_len=500):
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(empty_message, rule)
    if len(reason) > max_len:
        raise WorkflowError(f"原因不能超过{max_len}个字", rule)
    return reason


def _reviewer_name(reviewer):
    school = db.session.get(School, reviewer.school_id)
    return f"{school.name}（{getattr(reviewer, 'first_name', '') or '审核老师'}）"


def _notify_parties(agreement, subject, body, n, termination_id=None):
    if termination_id is not None:
        student_link = f"/student/terminations/{termination_id}"
        employer_link = f"/employer/terminations/{termination_id}"
    elif agreement.kind == "paper":
        student_link, employer_link = "/student/paper", None
    else:
        student_link, employer_link = f"/student/offers/{agreement.id}", f"/employer/offers/{agreement.id}"
    notify(users_of(student_id=agreement.student_id), subject, body, link=student_link, now=n)
    if agreement.employer_id and agreement.kind == "electronic":
        notify(users_of(employer_id=agreement.employer_id), subject, body, link=employer_link, now=n)


# ---------------------------------------------------------------- paper agreements (纸质签约)

PAPER_OPTIONAL_INTS = ("probation_days", "probation_salary", "salary", "penalty")


def validate_paper_terms(terms, now=None):
    """R15 for a paper agreement typed in by the student: the employer's name and credit code,
    and the offer terms (money fields may be left empty: 0). Raises WorkflowError with `fields`."""
    from stdnum.cn import uscc

    given = dict(terms)
    given["feedback_days"] = 1  # no answering period: the paper is already signed
    for name in PAPER_OPTIONAL_INTS:
        if str(given.get(name) or "").strip() == "":
            given[name] = 0
    errors = {}
    try:
        clean = validate_terms(given, now)
    except WorkflowError as exc:
        errors.update(exc.fields)
        clean = {}
    name = str(terms.get("employer_name") or "").strip()
    if not name:
        errors["employer_name"] = "请输入单位名称"
    elif len(name) > 200:
        errors["employer_name"] = "单位名称不能超过200个字"
    code = str(terms.get("employer_credit_code") or "").strip().upper()
    if not uscc.is_valid(code):
        errors["employer_credit_code"] = "统一社会信用代码不正确（18位，含校验位）"
    if errors:
        raise WorkflowError("协议书信息填写有误，请按提示修改", "R15", errors)
    clean.pop("feedback_days", None)
    clean["employer_name"], clean["employer_credit_code"] = name, code
    return clean


@transition
def record_paper_agreement(student, terms, proof, now=None):
    """录入协议书: the student enters a signed paper agreement with its scan; it waits for the
    school's review like an electronic one (certify/decline), numbered with kind digit 2 (R9)."""
    n = _utc(now)
    clean = validate_paper_terms(terms, now)
    if not isinstance(proof, uploads.Upload):
        raise WorkflowError("请上传已签字盖章的纸质协议书扫描件", "R13", {"proof": "请上传协议书扫描件"})
    student = _lock_student(student.id)
    reason = student_block_reason(student)
    if reason:
        raise WorkflowError(f"你目前不能签约：{reason}", "R7")
    if live_outcome_exists(student.id):
        raise WorkflowError("你已有生效或待审核的签约/其他去向，不能录入纸质协议书", "R6")
    # The employer is not an online party of a paper agreement (R13): no employer_id, so none of
    # its pages lists it; statistics find the employer by the credit code.
    agreement = Agreement(
        kind="paper", status="accepted", student_id=student.id, school_id=student.school_id,
        employer_id=None, feedback_days=0,
        sent_at=n, expires_at=n, accepted_at=n, answered_at=n, updated_at=n, **clean,
    )
    db.session.add(agreement)
    try:
        db.session.flush()
    except IntegrityError:  # R6 backstop
        raise WorkflowError("你已有生效或待审核的签约，不能录入纸质协议书", "R6")
    _event("学生本人", "paper_record", None, n, agreement_id=agreement.id)
    notify(users_of(school_id=student.school_id), f"待审核：{student.name}的纸质协议书",
           f"{student.name}录入了与{agreement.employer_name}的纸质协议书，请审核。",
           link=f"/school/review/{agreement.id}", now=n)
    agreement.proof_path = uploads.save(proof, "paper")
    _commit_or_discard(agreement.proof_path)
    return agreement


def _commit_or_discard(*keys):
    """Commit; if it fails, remove the files this transaction stored (nothing half-written)."""
    try:
        _commit()
    except BaseException:
        for key in keys:
            uploads.discard(key)
        raise


# ---------------------------------------------------------------- terminations (解约, R11–R13)

TERMINATION_TRANSITIONS = {
    # action → (allowed source statuses, target)
    "agree": ({"requested"}, "agreed"),
    "approve": ({"agreed"}, "approved"),
    "refuse": ({"agreed"}, "refused"),
}
TERMINATION_REASON_MAX = 200


def _termination_move(termination, action):
    sources, target = TERMINATION_TRANSITIONS[action]
    if termination.status not in sources:
        status = labels.label(labels.TERMINATION_STATUS, termination.status)
        raise WorkflowError(f"该解约申请当前状态为“{status}”，不能再{_TERMINATION_VERB[action]}", "R11")
    termination.status = target


_TERMINATION_VERB = {"agree": "同意", "approve": "审核通过", "refuse": "审核不通过"}


def _side(party, agreement):
    """'student' or 'employer' when `party` signed `agreement`; otherwise refused."""
    if isinstance(party, Student) and agreement.student_id == party.id:
        return "student"
    if isinstance(party, Employer) and agreement.employer_id == party.id:
        return "employer"
    raise WorkflowError("只能对本人（本单位）签订的协议书办理解约", "R11")


def _party_name(party):
    return "学生本人" if isinstance(party, Student) else party.name


def approved_terminations(student_id):
    return db.session.scalar(select(func.count()).select_from(Termination).where(
        Termination.student_id == student_id, Termination.status == "approved"))


def termination_block_reason(agreement, party=None):
    """Why no termination may be asked for this agreement now (R11–R13), or None. No side effects."""
    if agreement.status == "accepted":
        return "签约审核期间不能提出解约", "R11"
    if agreement.status != "certified":
        return "只有经学校鉴证通过的协议书才能解约", "R11"
    if open_termination(agreement.id) is not None:
        return "该协议书有正在办理的解约，解约审核期间不能再次提出", "R11"
    if agreement.kind == "paper" and party is not None and not isinstance(party, Student):
        return "纸质协议书的解约只能由学生向学校提出", "R13"
    limit = current_app.config["TERMINATION_LIMIT"]
    if approved_terminations(agreement.student_id) >= limit:
        return f"每名学生只能办理{limit}次解约，该生的解约机会已用完", "R12"
    return None


@transition
def request_termination(party, agreement, reason, proof=None, now=None):
    """解约申请 by the student or the employer of a certified agreement (R11). For a paper
    agreement only the student asks, with the employer's release letter, and it goes straight
    to the school (R13). The initiator cannot withdraw it."""
    n = _utc(now)
    side = _side(party, agreement)
    reason = _reason(reason, "请填写解除原因", "R11", max_len=TERMINATION_REASON_MAX)
    _lock_student(agreement.student_id)
    agreement = _lock_agreement(agreement.id)
    blocked = termination_block_reason(agreement, party)
    if blocked:
        raise WorkflowError(*blocked)
    paper = agreement.kind == "paper"
    if paper and not isinstance(proof, uploads.Upload):
        raise WorkflowError("纸质协议书解约须上传用人单位开具的解约证明材料", "R13", {"proof": "请上传解约证明材料"})
    termination = Termination(
        agreement_id=agreement.id, student_id=agreement.student_id, school_id=agreement.school_id,
        employer_id=agreement.employer_id, initiator=side, reason=reason,
        status="agreed" if paper else "requested", created_at=n, updated_at=n,
        agreed_at=n if paper else None,
    )
    db.session.add(termination)
    try:
        db.session.flush()
    except IntegrityError:  # R11 backstop: one open termination per agreement
        raise WorkflowError("该协议书有正在办理的解约，不能再次提出", "R11")
    agreement.updated_at = n
    _event(_party_name(party), "termination_request", reason, n,
           agreement_id=agreement.id, termination_id=termination.id)
    student = db.session.get(Student, agreement.student_id)
    if paper:
        notify(users_of(school_id=agreement.school_id), f"待解约审核：{student.name}",
               f"{student.name}申请解除与{agreement.employer_name}的纸质协议书（{agreement.number}），原因：{reason}",
               link=f"/school/terminations/{termination.id}", now=n)
    elif side == "student":
        notify(users_of(employer_id=agreement.employer_id), f"{student.name}提出解约申请",
               f"{student.name}申请解除编号 {agreement.number} 的就业协议，原因：{reason}。请在解约办理中处理。",
               link=f"/employer/terminations/{termination.id}", now=n)
    else:
        notify(users_of(student_id=agreement.student_id), f"{agreement.employer_name}提出解约",
               f"{agreement.employer_name}决定与你解除编号 {agreement.number} 的就业协议，原因：{reason}。"
               f"请在解约办理中查看。", link=f"/student/terminations/{termination.id}", now=n)
    key = None
    if proof is not None:
        termination.proof_path = key = uploads.save(proof, "termination")
    _commit_or_discard(key)
    return termination


@transition
def agree_termination(party, termination, now=None, remark=None):
    """同意 by the other party (R11), with an optional remark the school reads: the request goes
    to the school."""
    n = _utc(now)
    remark = (remark or "").strip() or None
    if remark and len(remark) > TERMINATION_REASON_MAX:
        raise WorkflowError(f"意见不能超过{TERMINATION_REASON_MAX}个字", "R11")
    agreement = db.session.get(Agreement, termination.agreement_id)
    side = _side(party, agreement)
    if side == termination.initiator:
        raise WorkflowError("解约申请由你方提出，需等待对方处理", "R11")
    _lock_student(agreement.student_id)
    termination = _lock_termination(termination.id)
    _termination_move(termination, "agree")
    termination.agreed_at = termination.updated_at = n
    _event(_party_name(party), "termination_agree", remark, n,
           agreement_id=agreement.id, termination_id=termination.id)
    student = db.session.get(Student, agreement.student_id)
    if side == "student":
        notify(users_of(employer_id=agreement.employer_id), f"{student.name}同意解约",
               f"{student.name}已同意解除编号 {agreement.number} 的就业协议，等待学校审核。",
               link=f"/employer/terminations/{termination.id}", now=n)
    else:
        notify(users_of(student_id=agreement.student_id), f"{agreement.employer_name}同意解约",
               f"{agreement.employer_name}已同意解除编号 {agreement.number} 的就业协议，等待学校审核。",
               link=f"/student/terminations/{termination.id}", now=n)
    notify(users_of(school_id=agreement.school_id), f"待解约审核：{student.name}",
           f"{student.name}与{agreement.employer_name}已就解约达成一致，请审核。",
           link=f"/school/terminations/{termination.id}", now=n)
    _commit()
    return termination


def _lock_termination(termination_id):
    return _locked(Termination, termination_id)


@transition
def approve_termination(reviewer, termination, now=None):
    """解约审核通过: the agreement becomes 已解约 and the student may sign again (R11, R12)."""
    n = _utc(now)
    _own_school(reviewer, termination, "只能审核本校学生的解约申请", "R11")
    _lock_student(termination.student_id)
    agreement = _lock_agreement(termination.agreement_id)
    termination = _lock_termination(termination.id)
    limit = current_app.config["TERMINATION_LIMIT"]
    # Counted before the move: autoflush would otherwise count this very approval.
    if termination.status == "agreed" and approved_terminations(termination.student_id) >= limit:
        raise WorkflowError(f"每名学生只能办理{limit}次解约，该生的解约机会已用完", "R12")
    _termination_move(termination, "approve")
    _move(agreement, "terminate")
    termination.reviewed_at = termination.updated_at = agreement.updated_at = n
    name = _reviewer_name(reviewer)
    _event(name, "termination_approve", None, n, agreement_id=agreement.id, termination_id=termination.id)
    _notify_parties(agreement, "解约审核通过",
                    f"学校已审核通过编号 {agreement.number} 协议书的解约，协议书已解除；学生可重新签约或登记其他去向。", n,
                    termination_id=termination.id)
    _commit()
    return termination


@transition
def refuse_termination(reviewer, termination, reason, now=None):
    """解约审核不通过 with a reason: the agreement stays certified; a new request may follow."""
    n = _utc(now)
    _own_school(reviewer, termination, "只能审核本校学生的解约申请", "R11")
    reason = _reason(reason, "请填写审核不通过原因", "R11")
    termination = _lock_termination(termination.id)
    _termination_move(termination, "refuse")
    termination.review_reason = reason
    termination.reviewed_at = termination.updated_at = n
    agreement = db.session.get(Agreement, termination.agreement_id)
    _event(_reviewer_name(reviewer), "termination_refuse", reason, n,
           agreement_id=agreement.id, termination_id=termination.id)
    _notify_parties(agreement, "解约审核不通过",
                    f"学校审核不通过编号 {agreement.number} 协议书的解约，协议书仍然有效。原因：{reason}", n,
                    termination_id=termination.id)
    _commit()
    return termination


# ---------------------------------------------------------------- other destinations (其他去向)

# Per kind: (field, label, type, required). Types: text, region, uscc, date.
DESTINATION_FIELDS = {
    "80": [("school", "升学院校", "text", True), ("major", "升学专业", "text", True),
           ("level", "升学层次", "text", True)],
    "85": [("country", "国家或地区", "text", True), ("institution", "学校或单位", "text", True),
           ("purpose", "出国（境）类型", "text", True)],
    "75": [("company", "企业名称", "text", True), ("credit_code", "统一社会信用代码", "uscc", True),
           ("region", "创业地点", "region", True)],
    "76": [("occupation", "职业内容", "text", True), ("region", "工作地点", "region", True)],
    "46": [("region", "入伍地", "region", True), ("enlisted_on", "入伍时间", "date", True)],
    "50": [("project", "项目名称", "text", True), ("region", "服务地", "region", True)],
    "51": [("project", "项目名称", "text", True), ("region", "服务地", "region", True)],
    "27": [("institution", "聘用单位", "text", True), ("project", "科研项目/课题组", "text", True),
           ("region", "工作地点", "region", True)],
    "11": [("company", "单位名称", "text", True), ("credit_code", "统一社会信用代码", "uscc", True),
           ("region", "工作地点", "region", True), ("contract_start", "合同起始日期", "date", True)],
    "12": [("company", "单位名称", "text", True), ("region", "工作地点", "region", True)],
}
# Proof each kind needs (录取通知书, 营业执照, 入伍通知书, 劳动合同 …); 自由职业 has none to show.
DESTINATION_PROOF = {
    "80": "录取通知书或拟录取证明", "85": "录取通知书或工作签证", "75": "营业执照", "46": "入伍通知书",
    "50": "项目录取通知", "51": "项目录取通知", "27": "聘用证明", "11": "劳动合同", "12": "录用证明",
}
DESTINATION_TRANSITIONS = {
    "withdraw": ({"submitted"}, "withdrawn"),
    "approve": ({"submitted"}, "approved"),
    "decline": ({"submitted"}, "declined"),
}


def validate_destination(kind, details):
    """The details a destination kind needs; returns the clean dict or raises with `fields`."""
    import json

    from stdnum.cn import uscc

    if kind not in labels.DESTINATION_KIND:
        raise WorkflowError("请选择去向类别", "R15", {"kind": "请选择去向类别"})
    errors, clean = {}, {}
    for name, label, kind_of, required in DESTINATION_FIELDS[kind]:
        value = str((details or {}).get(name) or "").strip()
        if not value:
            if required:
                errors[name] = f"请输入{label}" if kind_of in ("text", "uscc") else f"请选择{label}"
            continue
        if kind_of == "text" and len(value) > 100:
            errors[name] = f"{label}不能超过100个字"
        elif kind_of == "uscc":
            value = value.upper()
            if not uscc.is_valid(value):
                errors[name] = f"{label}不正确（18位，含校验位）"
        elif kind_of == "region" and not regions.is_valid(value):
            errors[name] = f"请选择{label}"
        elif kind_of == "date":
            try:
                value = _as_date(value).isoformat()
            except (ValueError, TypeError):
                errors[name] = f"{label}格式应为 2026-07-01"
        clean[name] = value
    if errors:
        raise WorkflowError("去向信息填写有误，请按提示修改", "R15", errors)
    return json.dumps(clean, ensure_ascii=False, sort_keys=True)


def _destination_move(destination, action):
    sources, target = DESTINATION_TRANSITIONS[action]
    if destination.status not in sources:
        status = labels.label(labels.DESTINATION_STATUS, destination.status)
        raise WorkflowError(f"该去向登记当前状态为“{status}”，不能再处理")
    destination.status = target


@transition
def submit_destination(student, kind, details, proof=None, now=None):
    """其他去向登记: a live outcome (R6) from submission; the school approves or declines."""
    n = _utc(now)
    details_json = validate_destination(kind, details)
    if kind in DESTINATION_PROOF and not isinstance(proof, uploads.Upload):
        raise WorkflowError(f"请上传{DESTINATION_PROOF[kind]}", "R15", {"proof": f"请上传{DESTINATION_PROOF[kind]}"})
    student = _lock_student(student.id)  # same lock as accept: one live outcome (R6)
    reason = student_block_reason(student)
    if reason:
        raise WorkflowError(f"你目前不能登记去向：{reason}", "R7")
    if live_outcome_exists(student.id):
        raise WorkflowError("你已有生效或待审核的签约/其他去向，不能再登记其他去向", "R6")
    destination = Destination(student_id=student.id, school_id=student.school_id, kind=kind,
                              details=details_json, status="submitted", created_at=n, updated_at=n)
    db.session.add(destination)
    try:
        db.session.flush()
    except IntegrityError:  # R6 backstop
        raise WorkflowError("你已有待审核或已通过的其他去向", "R6")
    _event("学生本人", "destination_submit", labels.DESTINATION_KIND[kind], n, destination_id=destination.id)
    notify(users_of(school_id=student.school_id), f"待审核：{student.name}的其他去向",
           f"{student.name}登记了其他去向“{labels.DESTINATION_KIND[kind]}”，请审核。",
           link=f"/school/destinations/{destination.id}", now=n)
    key = None
    if proof is not None:
        destination.proof_path = key = uploads.save(proof, "destination")
    _commit_or_discard(key)
    return destination


@transition
def withdraw_destination(student, destination, now=None):
    """The student withdraws a destination before the school reviews it."""
    n = _utc(now)
    if destination.student_id != student.id:
        raise WorkflowError("只能撤回本人的去向登记")
    _lock_student(student.id)
    destination = _locked(Destination, destination.id)
    if destination.status != "submitted":
        raise WorkflowError("学校已审核的去向登记不能撤回")
    _destination_move(destination, "withdraw")
    destination.updated_at = n
    _event("学生本人", "destination_withdraw", None, n, destination_id=destination.id)
    notify(users_of(school_id=destination.school_id), f"{student.name}撤回了其他去向登记",
           f"{student.name}撤回了待审核的去向登记“{labels.DESTINATION_KIND.get(destination.kind, destination.kind)}”，无需再审核。",
           link=f"/school/destinations/{destination.id}", now=n)
    _commit()
    return destination


@transition
def review_destination(reviewer, destination, approve, reason=None, now=None):
    """其他去向审核: approve, or decline with a reason (the student may then sign or register again)."""
    n = _utc(now)
    _own_school(reviewer, destination, "只能审核本校学生的去向登记")
    if not approve:
        reason = _reason(reason, "请填写审核不通过原因", "R9")
    destination = _locked(Destination, destination.id)
    _destination_move(destination, "approve" if approve else "decline")
    destination.review_reason = None if approve else reason
    destination.reviewed_at = destination.updated_at = n
    _event(_reviewer_name(reviewer), "destination_approve" if approve else "destination_decline",
           None if approve else reason, n, destination_id=destination.id)
    kind = labels.DESTINATION_KIND.get(destination.kind, destination.kind)
    notify(users_of(student_id=destination.student_id),
           "其他去向审核通过" if approve else "其他去向审核不通过",
           f"你登记的去向“{kind}”已通过学校审核。" if approve
           else f"你登记的去向“{kind}”未通过学校审核，原因：{reason}", link="/student/destinations", now=n)
    _commit()
    return destination


# ---------------------------------------------------------------- reads for the pages

def employment_status(student_id):
    """就业状态 / 就业类别 / 就业时间 of the student home page, from the live outcome (R6)."""
    agreement = db.session.scalar(select(Agreement).where(
        Agreement.student_id == student_id, Agreement.status.in_(LIVE_AGREEMENT_STATUSES)))
    if agreement is not None:
        kind = labels.AGREEMENT_KIND[agreement.kind]
        if agreement.status == "certified":
            return {"state": "已就业", "category": f"签就业协议形式就业（{kind}）", "since": agreement.certified_at}
        return {"state": "已签约，待学校审核", "category": f"签就业协议形式就业（{kind}）", "since": agreement.accepted_at}
    destination = db.session.scalar(select(Destination).where(
        Destination.student_id == student_id, Destination.status.in_(LIVE_DESTINATION_STATUSES)))
    if destination is not None:
        kind = labels.DESTINATION_KIND.get(destination.kind, destination.kind)
        if destination.status == "approved":
            return {"state": "已落实去向", "category": kind, "since": destination.reviewed_at}
        return {"state": "去向待学校审核", "category": kind, "since": destination.created_at}
    return {"state": "未就业", "category": None, "since": None}


# ---------------------------------------------------------------- first login (manual §2.1, §2.2)

_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{4,30}$")
PROFILE_FIELDS = ("nature", "region", "contact_name", "contact_phone", "email", "address") + (
    "archive_mode",) + ARCHIVE_DETAIL_FIELDS + ("hukou_mode", "hukou_address")


def valid_email(value):
    return is_email(value)  # the one rule, shared with the roster import (imports.validate)


def _email_taken(email, except_user_id=None):
    """ab_user.email is unique: another login already uses this address (case-insensitive)."""
    q = select(func.count()).select_from(AppUser).where(func.lower(AppUser.email) == email.lower())
    if except_user_id is not None:
        q = q.where(AppUser.id != except_user_id)
    return bool(db.session.scalar(q))


def _profile_fields(values, errors, clean):
    """单位性质, 单位所在地 and the contact fields of an employer (registration and 基本信息维护)."""
    nature = str(values.get("nature") or "").strip()
    if nature not in labels.EMPLOYER_NATURE:
        errors["nature"] = "请选择单位性质"
    clean["nature"] = nature
    region = str(values.get("region") or "").strip()
    if not regions.is_valid(region):
        errors["region"] = "请选择单位所在地（省/市/区县）"
    clean["region"] = region
    contact = str(values.get("contact_name") or "").strip()
    if not contact or len(contact) > 50:
        errors["contact_name"] = "请输入联系人（50字以内）"
    clean["contact_name"] = contact
    phone = str(values.get("contact_phone") or "").strip()
    if not valid_phone(phone):
        errors["contact_phone"] = "联系电话格式不正确（手机号或带区号的固定电话）"
    clean["contact_phone"] = phone
    email = str(values.get("email") or "").strip()
    if not valid_email(email):
        errors["email"] = "请输入正确的邮箱"
    clean["email"] = email
    address = str(values.get("address") or "").strip()
    if len(address) > 200:
        errors["address"] = "通讯地址不能超过200个字"
    clean["address"] = address or None


@transition
def register_employer(values, password, school_ids, now=None):
    """单位注册: the employer, its login and a pending 单位审核 at each chosen school, all at once.
    It may offer once one school approves it and it has confirmed its signing profile (R1)."""
    from stdnum.cn import uscc

    from .security import ROLE_EMPLOYER, password_hash, password_problem

    n = _utc(now)
    errors, clean = {}, {}
    name = str(values.get("name") or "").strip()
    if not name or len(name) > 200:
        errors["name"] = "请输入单位名称（200字以内）"
    code = str(values.get("credit_code") or "").strip().upper()
    if not uscc.is_valid(code):
        errors["credit_code"] = "统一社会信用代码不正确（18位，含校验位）"
    elif db.session.scalar(select(func.count()).select_from(Employer).where(Employer.credit_code == code)):
        errors["credit_code"] = "该统一社会信用代码已注册，请直接登录；忘记账号请联系学校就业部门"
    _profile_fields(values, errors, clean)
    username = str(values.get("username") or "").strip()
    if not _USERNAME.match(username):
        errors["username"] = "用户名为4-30位字母、数字、下划线、点或减号"
    elif db.session.scalar(select(func.count()).select_from(AppUser).where(
            func.lower(AppUser.username) == username.lower())):
        errors["username"] = "该用户名已被使用"
    if "email" not in errors and _email_taken(clean["email"]):
        errors["email"] = "该邮箱已被其他账号使用"
    problem = password_problem(password)
    if problem:
        errors["password"] = problem
    schools = db.session.scalars(select(School).where(School.id.in_(list(school_ids or [])))).all()
    if not schools or len(schools) != len(set(school_ids)):
        errors["schools"] = "请至少选择一所提交审核的学校"
    if errors:
        raise WorkflowError("注册信息填写有误，请按提示修改", "R1", errors)

    employer = Employer(name=name, credit_code=code, created_at=n, **clean)
    db.session.add(employer)
    try:
        db.session.flush()
    except IntegrityError:  # the same credit code registered at this very moment
        raise WorkflowError("该统一社会信用代码已注册", "R1", {"credit_code": "该统一社会信用代码已注册"})
    from flask_appbuilder.security.sqla.models import Role

    role = db.session.scalar(select(Role).where(Role.name == ROLE_EMPLOYER))
    user = AppUser(username=username, first_name=clean["contact_name"][1:] or clean["contact_name"],
                   last_name=clean["contact_name"][:1], email=clean["email"], active=True,
                   password=password_hash(password), employer_id=employer.id, roles=[role], created_on=n)
    db.session.add(user)
    for school in schools:
        db.session.add(EmployerApproval(employer_id=employer.id, school_id=school.id, status="pending", created_at=n))
    try:
        db.session.flush()
    except IntegrityError:  # a username or e-mail registered at this very moment
        raise WorkflowError("用户名或邮箱刚刚已被其他账号使用，请更换", "R1",
                            {"username": "请更换用户名", "email": "请更换邮箱"})
    for school in schools:
        notify(users_of(school_id=school.id), f"待审核单位：{name}", f"{name}（{code}）注册并申请本校审核。",
               link="/school/employers/", now=n)
    _commit()
    return employer, user


@transition
def apply_for_approval(employer, school, now=None):
    """申请学校审核 at another school, or again after a refusal (R1)."""
    n = _utc(now)
    approval = db.session.scalar(select(EmployerApproval).where(
        EmployerApproval.employer_id == employer.id, EmployerApproval.school_id == school.id).with_for_update())
    if approval is not None and approval.status != "refused":
        raise WorkflowError("已向该校提交审核申请" if approval.status == "pending" else "该校已审核通过", "R1")
    if approval is None:
        approval = EmployerApproval(employer_id=employer.id, school_id=school.id, created_at=n)
        db.session.add(approval)
    approval.status, approval.reason, approval.reviewed_at = "pending", None, None
    approval.created_at = n
    try:
        db.session.flush()
    except IntegrityError:  # the same request twice at once: the first one is there
        raise WorkflowError("已向该校提交审核申请", "R1")
    notify(users_of(school_id=school.id), f"待审核单位：{employer.name}",
           f"{employer.name}（{employer.credit_code}）申请本校审核。", link="/school/employers/", now=n)
    _commit()
    return approval


@transition
def confirm_employer_profile(employer, values, now=None):
    """签约信息确认 (first login) and 基本信息维护 later: nature, region, contacts, 档案/户口接收 with
    the fields each choice needs. Offers copy the profile when they are sent."""
    n = _utc(now)
    errors, clean = {}, {}
    _profile_fields(values, errors, clean)
    _archive_hukou(values, errors, clean)
    if errors:
        raise WorkflowError("签约信息填写有误，请按提示修改", "R1", errors)
    for field, value in clean.items():
        setattr(employer, field, value)
    if employer.profile_confirmed_at is None:
        employer.profile_confirmed_at = n
    _commit()
    return employer


@transition
def verify_student(student, email, address, code, now=None):
    """信息验证 on first login (R7): email, 通讯地址 and the SMS code sent to the phone on file."""
    from . import sms

    n = _utc(now)
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
    if user is not None and _email_taken(email, except_user_id=user.id):
        raise WorkflowError("该邮箱已被其他账号使用，请换一个邮箱", "R7", {"email": "该邮箱已被其他账号使用"})
    student = _lock_student(student.id)
    try:
        sms.consume_code(student.phone, code, now=n)
    except sms.SmsError as exc:
        raise WorkflowError(str(exc), "R7", {"code": str(exc)})
    student.email, student.address = email, address
    if user is not None:
        user.email = email  # the placeholder address of a roster login is replaced here
    if student.verified_at is None:
        student.verified_at = n
    _commit()
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

    school_id = _reviewer_school_id(reviewer)
    if student is not None:
        _own_school(reviewer, student, "只能管理本校学生", "R7")
    keys = [c.key for c in roster_spec.ROSTER.columns]
    row = {k: str(values.get(k) or "").strip() for k in keys}
    if row["training_mode"] in ("non_targeted", "targeted"):  # the form sends codes, the file labels
        row["training_mode"] = labels.TRAINING_MODE[row["training_mode"]]
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
            if _email_taken(clean["email"], except_user_id=login.id if login else None):
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
    _commit()
    return student


@transition
def reset_student_password(reviewer, student, now=None):
    """重置密码 by the school: back to the documented initial password, changed at next login."""
    from . import accounts

    _own_school(reviewer, student, "只能管理本校学生", "R7")
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
    _commit()
    return user


# ---------------------------------------------------------------- school administration

@transition
def review_employer(reviewer, approval, approve, reason=None, now=None):
    """单位审核 (R1): approve, or refuse with a reason. One approval anywhere lets it offer everywhere."""
    n = _utc(now)
    _own_school(reviewer, approval, "只能处理提交给本校的单位审核", "R1")
    # Two reviewers deciding at once: the second waits here and then sees the first decision.
    approval = _locked(EmployerApproval, approval.id)
    if approval.status != "pending":
        raise WorkflowError("该单位审核已处理", "R1")
    if not approve:
        approval.reason = _reason(reason, "请填写审核不通过原因", "R1", max_len=200)
    approval.status = "approved" if approve else "refused"
    approval.reviewed_at = n
    employer = db.session.get(Employer, approval.employer_id)
    subject = "单位审核通过" if approve else "单位审核不通过"
    body = (f"{_reviewer_name(reviewer)}已审核通过贵单位，现在可以向所有学校的学生发送签约邀请。" if approve
            else f"{_reviewer_name(reviewer)}审核不通过，原因：{approval.reason}")
    notify(users_of(employer_id=employer.id), subject, body, link="/employer/", now=n)
    _commit()
    return approval


@transition
def set_signing_restricted(reviewer, students, restricted, now=None):
    """限制签约 / 解除限制 (R7) for the reviewer's own students."""
    n = _utc(now)
    students = list(students)
    for student in students:
        _own_school(reviewer, student, "只能管理本校学生", "R7")
    for student in students:
        student.signing_restricted = bool(restricted)
        notify(users_of(student_id=student.id), "签约限制已变更",
               "学校已限制你网上签约，如有疑问请联系学校就业部门老师。" if restricted
               else "学校已解除对你的签约限制。", now=n)
    _commit()
    return students
