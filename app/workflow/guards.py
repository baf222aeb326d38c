"""Guards: side-effect-free checks that the transition table (`table.py`) lists per action.

Each guard is `guard(actor, obj, now) -> Refusal | None`, reads the database at most, and writes
nothing; `now` is naive UTC. The rule predicates the pages and imports need on their own
(`student_block_reason`, `live_outcome_exists` …) live here too, so a rule has one text.
"""
from flask import current_app
from sqlalchemy import func, select

from .. import labels
from ..extensions import db
from ..models import (
    LIVE_AGREEMENT_STATUSES,
    LIVE_DESTINATION_STATUSES,
    OPEN_TERMINATION_STATUSES,
    Agreement,
    Destination,
    Employer,
    EmployerApproval,
    JobApplication,
    PostingHide,
    Student,
    Termination,
)
from .base import overdue, pending_clause, posting_overdue
from .errors import Refusal

# ---------------------------------------------------------------- rule predicates

# R7, in the order they are told: (test, reason, what the login page says or None). FAQ 1: a 定向
# student, or one whose 就业方案 is submitted, cannot even log in to sign.
R7_BLOCKS = (
    (lambda s: s.verified_at is None, "尚未完成首次登录信息验证", None),
    (lambda s: s.signing_restricted, "已被学校限制签约", None),
    (lambda s: s.training_mode == "targeted", "培养方式为定向",
     "你的培养方式为“定向”，不能登录网签系统签约。如有疑问请联系学校就业部门老师。"),
    (lambda s: s.plan_submitted, "已提交就业方案",
     "你的就业方案已提交，不能再登录网签系统签约。如需变更请联系学校就业部门老师。"),
)


def student_block_reason(student):
    """R7: why this student may not sign (or be found), or None."""
    for test, reason, _login in R7_BLOCKS:
        if test(student):
            return reason
    return None


def login_block_reason(student):
    """R7 (FAQ 1): the reasons that also refuse the student's login, worded for the login page."""
    for test, _reason, login in R7_BLOCKS:
        if login and test(student):
            return login
    return None


def employer_offer_refusal(employer, doing="发送邀约", rule="R1"):
    """R1: an employer offers (and searches, imports candidates) once its profile is confirmed and
    one school approved it; R16: the same employer publishes job postings (`doing`, `rule`)."""
    if employer.profile_confirmed_at is None:
        return Refusal(f"请先完成签约信息确认，再{doing}", rule)
    approved = db.session.scalar(
        select(func.count()).select_from(EmployerApproval).where(
            EmployerApproval.employer_id == employer.id, EmployerApproval.status == "approved"))
    if not approved:
        return Refusal(f"单位尚未通过任一学校审核，暂不能{doing}", rule)
    return None


def live_outcome_exists(student_id, exclude_agreement_id=None):
    """R6: an accepted/certified agreement or a submitted/approved destination."""
    q = select(func.count()).select_from(Agreement).where(
        Agreement.student_id == student_id, Agreement.status.in_(LIVE_AGREEMENT_STATUSES))
    if exclude_agreement_id is not None:
        q = q.where(Agreement.id != exclude_agreement_id)
    if db.session.scalar(q):
        return True
    return bool(db.session.scalar(
        select(func.count()).select_from(Destination).where(
            Destination.student_id == student_id, Destination.status.in_(LIVE_DESTINATION_STATUSES))))


# R19: the student fields printed on the agreement (code name → label).
FROZEN_IDENTITY = {"name": "姓名", "id_number": "身份证号", "school_id": "学校"}


def identity_frozen(student_ids):
    """R19, set-based: of `student_ids`, those holding a live or certified agreement, whose
    printed identity (FROZEN_IDENTITY) no writer may change."""
    ids = list({i for i in student_ids if i is not None})
    if not ids:
        return set()
    return set(db.session.scalars(select(Agreement.student_id).where(
        Agreement.student_id.in_(ids), Agreement.status.in_(LIVE_AGREEMENT_STATUSES))))


def identity_refusal(changed):
    """R19: the refusal for changing `changed` fields of a frozen student, or None."""
    what = [label for name, label in FROZEN_IDENTITY.items() if name in changed]
    if not what:
        return None
    return Refusal(f"该生已有生效或待审核的协议书，{'、'.join(what)}不能修改", "R19")


def open_termination(agreement_id):
    return db.session.scalar(select(Termination).where(
        Termination.agreement_id == agreement_id, Termination.status.in_(OPEN_TERMINATION_STATUSES)))


def approved_terminations(student_id):
    return db.session.scalar(select(func.count()).select_from(Termination).where(
        Termination.student_id == student_id, Termination.status == "approved"))


def termination_limit():
    return current_app.config["TERMINATION_LIMIT"]


# ---------------------------------------------------------------- guards that read many rows at once

def batched(many):
    """A guard whose database read serves a whole page: `many(actor, rows, now)` returns
    {row: Refusal} for the rows it refuses, in one query; the one-row guard is `many` of one row,
    so the rule has one text (`table.why_not_each` calls `many` directly)."""
    def guard(actor, row, now):
        return many(actor, [row], now).get(row)
    guard.many = many
    guard.__name__ = many.__name__
    guard.__doc__ = many.__doc__
    return guard


# ---------------------------------------------------------------- guards: whose row

def own_offer(student, agreement, _now):
    if agreement.student_id != student.id:
        return Refusal("只能处理发给本人的邀约", "R0")
    return None


def employers_offer(employer, agreement, _now):
    if agreement.employer_id != employer.id:
        return Refusal("只能修改本单位发出的邀约", "R0")
    return None


def _school_of(reviewer):
    return getattr(reviewer, "school_id", None)


def reviewers_school(message, rule):
    """R9: a reviewer acts only on its own school's rows (agreements, terminations, destinations,
    approvals, students)."""
    def guard(reviewer, row, _now):
        if row.school_id != _school_of(reviewer):
            return Refusal(message, rule)
        return None
    guard.__name__ = f"reviewers_school_{rule}"
    return guard


def signers_side(party, agreement):
    """'student' or 'employer' when `party` signed `agreement`, else None."""
    if isinstance(party, Student) and agreement.student_id == party.id:
        return "student"
    if isinstance(party, Employer) and agreement.employer_id == party.id:
        return "employer"
    return None


def signer_of_agreement(party, agreement, _now):
    if signers_side(party, agreement) is None:
        return Refusal("只能对本人（本单位）签订的协议书办理解约", "R11")
    return None


def signer_of_termination(party, termination, _now):
    return signer_of_agreement(party, termination.agreement, _now)


def other_side(party, termination, _now):
    """R11: the initiator cannot answer (or withdraw) its own request; the other side agrees."""
    if signers_side(party, termination.agreement) == termination.initiator:
        return Refusal("解约申请由你方提出，需等待对方处理", "R11")
    return None


def own_destination(student, destination, _now):
    if destination.student_id != student.id:
        return Refusal("只能撤回本人的去向登记", "R0")
    return None


# ---------------------------------------------------------------- guards: offers

def may_offer(employer, _student, _now):
    return employer_offer_refusal(employer)


may_offer.actor_only = True  # the same answer for every student: `why_not_each` asks it once


def student_may_receive(_employer, student, _now):
    reason = student_block_reason(student)
    return Refusal(f"{student.name}（{reason}）", "R7") if reason else None


@batched
def no_pending_offer_from_employer(employer, students, now):
    """R3: one pending offer per employer and student; an overdue one no longer counts (R4)."""
    busy = set(db.session.scalars(select(Agreement.student_id).where(
        Agreement.employer_id == employer.id, Agreement.student_id.in_([s.id for s in students]),
        pending_clause(now))))
    return {s: Refusal(f"已向{s.name}发出邀约且尚在应约有效期内，学生拒绝或邀约过期后方可再次邀约", "R3")
            for s in students if s.id in busy}


def electronic(_actor, agreement, _now):
    if agreement.kind != "electronic":
        return Refusal("纸质协议书不能在此应约", "R0")
    return None


def not_overdue(message):
    """R4: an offer past its deadline is expired whether or not the job has run."""
    def guard(_actor, agreement, now):
        return Refusal(message, "R4") if overdue(agreement, now) else None
    guard.__name__ = "not_overdue"
    return guard


def after_cooling_off(_student, agreement, now):
    """R5 (and R8: an amendment does not start a second cooling-off)."""
    minutes = current_app.config["COOLING_OFF_MINUTES"]
    from datetime import timedelta

    opens = agreement.sent_at + timedelta(minutes=minutes)
    if now < opens:
        return Refusal(f"单位邀约后{minutes}分钟内为冷静期，请于{labels.fmt_datetime(opens)}之后再应约", "R5")
    return None


def cooling_off_ends(agreement):
    """When 同意 opens (R5), naive UTC."""
    from datetime import timedelta

    return agreement.sent_at + timedelta(minutes=current_app.config["COOLING_OFF_MINUTES"])


def student_may_sign(message):
    def guard(student, _obj, _now):
        reason = student_block_reason(student)
        return Refusal(f"{message}{reason}", "R7") if reason else None
    guard.__name__ = "student_may_sign"
    return guard


def no_other_live_outcome(message):
    """R6: one live outcome per student; while one is live, other offers are view-only."""
    def guard(student, agreement, _now):
        exclude = agreement.id if isinstance(agreement, Agreement) else None
        return Refusal(message, "R6") if live_outcome_exists(student.id, exclude) else None
    guard.__name__ = "no_other_live_outcome"
    return guard


def never_certified(_employer, agreement, _now):
    """R8: once numbered (even if the review was withdrawn since) only termination changes it."""
    if agreement.number is not None:
        return Refusal("该协议书已经学校鉴证并编号，不能修改邀约；请先办理解约，再重新签约", "R8")
    return None


@batched
def no_second_pending_offer(_employer, agreements, now):
    """R3 on amend: turning an accepted agreement back to pending must not make two pending
    offers of one employer to one student (an overdue one does not count, R4)."""
    accepted = [a for a in agreements if a.status == "accepted"]
    if not accepted:
        return {}
    pending = set(db.session.execute(select(Agreement.employer_id, Agreement.student_id).where(
        Agreement.employer_id.in_({a.employer_id for a in accepted}),
        Agreement.student_id.in_({a.student_id for a in accepted}), pending_clause(now))).all())
    return {a: Refusal("本单位已向该学生发出另一份待应约的邀约，待学生处理或该邀约过期后再修改本协议书", "R3")
            for a in accepted if (a.employer_id, a.student_id) in pending}


def no_open_termination(message, rule):
    """R10, R11: at most one open termination per agreement (`uq_termination_open`)."""
    def no_open_termination(_actor, agreements, _now):
        open_ = set(db.session.scalars(select(Termination.agreement_id).where(
            Termination.agreement_id.in_([a.id for a in agreements]),
            Termination.status.in_(OPEN_TERMINATION_STATUSES))))
        return {a: Refusal(message, rule) for a in agreements if a.id in open_}
    return batched(no_open_termination)


# ---------------------------------------------------------------- guards: terminations

def agreement_certified(_party, agreement, _now):
    """R11: only a certified agreement is terminated; not while its review is pending."""
    if agreement.status == "accepted":
        return Refusal("签约审核期间不能提出解约", "R11")
    if agreement.status != "certified":
        return Refusal("只有经学校鉴证通过的协议书才能解约", "R11")
    return None


def paper_by_student(party, agreement, _now):
    """R13: a paper agreement's termination is asked by the student alone."""
    if agreement.kind == "paper" and not isinstance(party, Student):
        return Refusal("纸质协议书的解约只能由学生向学校提出", "R13")
    return None


@batched
def termination_left(actor, rows, _now):
    """R12: a student completes at most TERMINATION_LIMIT approved terminations (refused ones do
    not count). `rows` are agreements or terminations: anything with a student_id. The student is
    told of 你的 chances; the employer and the school of 该生's."""
    limit = termination_limit()
    used = dict(db.session.execute(
        select(Termination.student_id, func.count()).where(
            Termination.student_id.in_({r.student_id for r in rows}), Termination.status == "approved")
        .group_by(Termination.student_id)).all())
    whose = "你的" if isinstance(actor, Student) else "该生的"
    return {r: Refusal(f"每名学生只能办理{limit}次解约，{whose}解约机会已用完", "R12")
            for r in rows if used.get(r.student_id, 0) >= limit}


# ---------------------------------------------------------------- guards: employer approval

def not_yet_applied(employer, school, _now):
    """R1: one open application per school; again only after a refusal."""
    status = db.session.scalar(select(EmployerApproval.status).where(
        EmployerApproval.employer_id == employer.id, EmployerApproval.school_id == school.id))
    if status == "pending":
        return Refusal("已向该校提交审核申请", "R1")
    if status == "approved":
        return Refusal("该校已审核通过", "R1")
    return None


# ---------------------------------------------------------------- guards: 网上就业市场 (R16, R17)

def may_publish(employer, _posting, _now):
    """R16: only an employer that may offer (R1) publishes or reopens a posting."""
    return employer_offer_refusal(employer, "发布招聘职位", "R16")


may_publish.actor_only = True


def employers_posting(employer, posting, _now):
    if posting.employer_id != employer.id:
        return Refusal("只能处理本单位的招聘职位", "R0")
    return None


def deadline_ahead(_employer, posting, now):
    """R16: a posting opens only before 24:00 of its 截止日期."""
    if now >= posting.closes_at:
        return Refusal("截止日期已过，请先修改截止日期，再发布", "R16")
    return None


def posting_published(_reviewer, posting, _now):
    """R16: a school hides a posting its students can find (a draft is nobody's to hide)."""
    if posting.status == "draft":
        return Refusal("该职位尚未发布", "R16")
    return None


def not_hidden_by_school(reviewer, posting, _now):
    hidden = db.session.scalar(select(PostingHide.id).where(
        PostingHide.posting_id == posting.id, PostingHide.school_id == _school_of(reviewer),
        PostingHide.status == "hidden"))
    return Refusal("本校已隐藏该职位", "R16") if hidden else None


def posting_open_to_student(student, posting, now):
    """R16: a graduate applies only to a posting 招聘中 (past its 截止日期 it is closed whether or not
    the job has run) that the graduate's school has not hidden."""
    if posting.status != "open" or posting_overdue(posting, now):
        return Refusal("该职位已截止或已下线，不能投递", "R16")
    hidden = db.session.scalar(select(PostingHide.id).where(
        PostingHide.posting_id == posting.id, PostingHide.school_id == student.school_id,
        PostingHide.status == "hidden"))
    return Refusal("该职位已被学校隐藏，不能投递", "R16") if hidden else None


def not_applied_yet(student, posting, _now):
    """R17: one application per graduate and posting."""
    done = db.session.scalar(select(JobApplication.id).where(
        JobApplication.posting_id == posting.id, JobApplication.student_id == student.id))
    return Refusal("你已投递过该职位，每个职位只能投递一次", "R17") if done else None


def own_application(student, application, _now):
    if application.student_id != student.id:
        return Refusal("只能处理本人的投递", "R0")
    return None


def employers_application(employer, application, _now):
    if application.employer_id != employer.id:
        return Refusal("只能处理投递给本单位的简历", "R0")
    return None


def applicant_may_receive(employer, application, now):
    """R7 on the applicant: an offer can start from the application only to a graduate who may sign."""
    return student_may_receive(employer, application.student, now)
