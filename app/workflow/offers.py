"""Offers (邀约): invite, accept, reject, amend, and expiry (R3–R8)."""
from sqlalchemy import String, func, literal, select, update
from sqlalchemy.exc import IntegrityError

from .. import labels
from ..extensions import db
from ..models import Agreement, AppUser, FlowEvent
from ..notify import mark_mail_pending, notify, notify_from_select, users_of
from .base import (
    commit,
    event,
    expiry_instant,
    lock_student,
    locked,
    transition,
    utc,
    version_of,
)
from .errors import WorkflowError
from .fields import TERM_FIELDS, TERM_LABELS, validate_terms
from .guards import employer_offer_refusal
from .market import mark_offered
from .table import MOVES, advance, check, recheck, why_not_each


@transition
def invite(employer, students, terms, now=None):
    """发送签约邀请 to one or many students; all or nothing. Returns agreements in order.
    The 签约发送列表 asks `why_not("invite", …)` per student first and sends to those who may."""
    n = utc(now)
    refusal = employer_offer_refusal(employer)  # R1: the same for every student
    if refusal:
        raise refusal.error()
    clean = validate_terms(terms, now)  # R15
    students = list(students)
    if not students:
        raise WorkflowError("请选择要邀约的学生", "R15")
    if len({s.id for s in students}) != len(students):
        raise WorkflowError("同一学生不能在一次邀约中出现两次", "R3")
    refusals = [r for r in why_not_each("invite", employer, students, n).values() if r is not None]
    blocked = [r for r in refusals if r.rule == "R7"]
    if blocked:
        raise WorkflowError("以下学生暂不能接收邀约：" + "、".join(r.message for r in blocked), "R7")
    if refusals:
        raise WorkflowError("；".join(r.message for r in refusals), refusals[0].rule)
    ids = [s.id for s in students]
    # R4: offers past their deadline stop blocking a new one (the partial unique index on pending)
    # even if the job has not run.
    _expire_where(n, Agreement.employer_id == employer.id, Agreement.student_id.in_(ids))

    expires = expiry_instant(n, clean["feedback_days"])
    by_student = {}
    # Insert in student-id order whatever order the caller gave: concurrent invites (and the
    # expiry job) then take their index-entry locks in the same order and cannot deadlock.
    for student in sorted(students, key=lambda s: s.id):
        agreement = Agreement(
            kind="electronic", status=MOVES["invite"].target, student_id=student.id, school_id=student.school_id,
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
    mark_offered(employer, created, n)  # R17: offers to applicants the employer listed from 我要招聘
    for agreement, student in zip(created, students):
        event(employer.name, "invite", None, n, agreement_id=agreement.id)
        notify(users_of(student_id=student.id), f"{employer.name}向你发出签约邀请",
               f"{student.name}同学：{employer.name}拟录用你为“{agreement.position}”，请于"
               f"{labels.fmt_date(labels.deadline_date(expires))} 24时之前登录系统应约。",
               link=f"/student/offers/{agreement.id}", now=n)
    commit()
    return created


@transition
def accept(student, agreement, now=None, seen_version=None):
    """同意签约 (after 签约前必读 + 现在签约 on screen).

    `seen_version` is the `updated_at` of the letter the student read (the page sends it back):
    if the employer amended the offer meanwhile, the student must read it again (R8)."""
    n = utc(now)
    student = lock_student(student.id)  # R6: serialise this student's accepts
    agreement = locked(Agreement, agreement.id)
    if seen_version is not None and seen_version != version_of(agreement):
        raise WorkflowError("单位刚刚修改了邀请函，请重新阅读后再应约", "R8")
    # Checked under the locks. The status changes after the R6 query of the guards, or its
    # autoflush would hit the partial unique index and raise IntegrityError instead of the refusal.
    check("accept", student, agreement, n)
    advance(agreement, "accept")
    agreement.accepted_at = agreement.answered_at = agreement.updated_at = n
    try:
        db.session.flush()
    except IntegrityError:  # R6 backstop: the partial unique index
        raise WorkflowError("你已有生效或待审核的签约，不能再应约", "R6")
    event("学生本人", "accept", None, n, agreement_id=agreement.id)
    notify(users_of(employer_id=agreement.employer_id), f"{student.name}同意签约",
           f"{student.name}已同意贵单位“{agreement.position}”岗位的邀约，等待学校鉴证。",
           link=f"/employer/offers/{agreement.id}", now=n)
    notify(users_of(school_id=agreement.school_id), f"待审核：{student.name}与{agreement.employer_name}",
           f"{student.name}与{agreement.employer_name}已达成签约意向，请审核。",
           link=f"/school/review/{agreement.id}", now=n)
    commit()
    return agreement


@transition
def reject(student, agreement, now=None):
    n = utc(now)
    agreement = recheck("reject", student, Agreement, agreement.id, n)
    advance(agreement, "reject")
    agreement.answered_at = agreement.updated_at = n
    event("学生本人", "reject", None, n, agreement_id=agreement.id)
    notify(users_of(employer_id=agreement.employer_id), f"{student.name}拒绝了邀约",
           f"{student.name}拒绝了贵单位“{agreement.position}”岗位的邀约，单位可重新发起邀约。",
           link=f"/employer/offers/{agreement.id}", now=n)
    commit()
    return agreement


@transition
def amend(employer, agreement, terms, now=None):
    """修改邀约 before certification (R8); the student answers again."""
    n = utc(now)
    clean = validate_terms(terms, now)
    agreement = locked(Agreement, agreement.id)
    was = agreement.status
    if was == "accepted":
        # R3: overdue pending offers of the pair are marked first, so the partial unique index
        # sees what the guard saw.
        _expire_where(n, Agreement.employer_id == agreement.employer_id,
                      Agreement.student_id == agreement.student_id, Agreement.id != agreement.id)
    check("amend", employer, agreement, n)
    changed = [f for f in TERM_FIELDS if getattr(agreement, f) != clean[f]]
    if not changed:
        raise WorkflowError("邀请函内容没有变化", "R8")
    advance(agreement, "amend")
    for name, value in clean.items():
        setattr(agreement, name, value)
    agreement.expires_at = expiry_instant(n, clean["feedback_days"])
    agreement.accepted_at = agreement.answered_at = None
    agreement.updated_at = n
    try:
        db.session.flush()
    except IntegrityError:  # R3 race: a new pending offer was inserted concurrently
        raise WorkflowError("本单位已向该学生发出另一份待应约的邀约", "R3")
    event(employer.name, "amend", "修改：" + "、".join(TERM_LABELS.get(f, f) for f in changed), n,
          agreement_id=agreement.id)
    notify(users_of(student_id=agreement.student_id), f"{employer.name}修改了邀请函",
           f"{employer.name}修改了“{agreement.position}”岗位的邀请函，请重新查看并应约。",
           link=f"/student/offers/{agreement.id}", now=n)
    if was == "accepted":
        notify(users_of(school_id=agreement.school_id), "协议书已被单位修改",
               f"{agreement.employer_name}修改了已应约的协议书，学生重新应约后再审核。", now=n)
    commit()
    return agreement


# ---------------------------------------------------------------- expiry (R4), set-based

def _expire_where(n, *conditions):
    """Mark overdue pending offers expired, set-based, and write their FlowEvents and notices.

    The WHERE re-checks the source status under the row lock, so two concurrent runs (or a run
    racing an accept) expire each offer exactly once; RETURNING tells this run which rows it won.
    The FlowEvents and the employers' notices are two INSERT … SELECT over those rows (no
    row-by-row round trips): on PostgreSQL all three are one statement of data-modifying CTEs, so
    no id list travels to the app and back; SQLite runs them over the returned ids in chunks."""
    move = MOVES["expire"]
    expire = (update(Agreement)
              .where(Agreement.status.in_(move.sources), Agreement.expires_at <= n, *conditions)
              .values(status=move.target, updated_at=n))
    if db.session.get_bind().dialect.name == "postgresql":
        expired = expire.returning(Agreement.id, Agreement.employer_id, Agreement.position).cte("expired")
        events, notices = _expiry_inserts(expired, n)
        count = db.session.execute(select(func.count()).select_from(expired).add_cte(
            events.returning(FlowEvent.id).cte("events"),
            notices.returning(literal(1)).cte("notices"))).scalar_one()
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
        mark_mail_pending()
    return count


def _expiry_inserts(expired, n):
    """The FlowEvent and the employer notices for each row of `expired` (id, employer_id, position)."""
    from sqlalchemy import insert

    events = insert(FlowEvent).from_select(
        ["agreement_id", "actor_name", "action", "remark", "created_at"],
        select(expired.c.id, literal("系统"), literal("expire"), literal("超过应约有效期未反馈"), literal(n)))
    notices = notify_from_select(
        select(AppUser.id.label("user_id"), AppUser.email.label("email"), literal("邀约已过期").label("subject"),
               (literal("“") + expired.c.position + literal("”岗位的一份邀约已超过应约有效期，单位可重新发起邀约。"))
               .label("body"),
               (literal("/employer/offers/") + func.cast(expired.c.id, String)).label("link"))
        .join_from(expired, AppUser, AppUser.employer_id == expired.c.employer_id)
        .where(AppUser.active.is_(True)), n)
    return events, notices


@transition
def expire_due(now=None):
    """Mark every overdue offer expired (R4). Safe to run twice or concurrently. Returns the count."""
    n = utc(now)
    count = _expire_where(n)
    commit()
    return count


# ---------------------------------------------------------------- reads for the pages

def employment_status(student_id):
    """就业状态 / 就业类别 / 就业时间 of the student home page, from the live outcome (R6)."""
    from ..models import LIVE_AGREEMENT_STATUSES, LIVE_DESTINATION_STATUSES, Destination

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

