"""The school's review of agreements: certify (numbering, R9), decline, withdraw (R10), and the
paper agreements a student enters for review (R13)."""
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from .. import documents, uploads
from ..extensions import db
from ..models import Agreement, NumberCounter, School
from ..notify import notify, users_of
from .base import (
    commit,
    event,
    lock_student,
    notify_parties,
    reason_text,
    reviewer_name,
    transition,
    utc,
)
from .errors import WorkflowError
from .fields import validate_paper_terms
from .table import MOVES, advance, check, recheck

# ---------------------------------------------------------------- R9: numbers


def _next_sequence(school_id, year):
    """Atomic per-school, per-year counter: the row lock of UPDATE … RETURNING hands each
    caller a distinct value, and a rolled-back caller's value is never reused by a committed one."""
    if db.session.get_bind().dialect.name == "postgresql":
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


# ---------------------------------------------------------------- certify, decline, withdraw

@transition
def certify(reviewer, agreement, now=None):
    """签约审核通过: assigns the number (R9) unless it kept one from before a withdrawal (R10), and
    seals the content, the student's identity included (R19)."""
    n = utc(now)
    check("certify", reviewer, agreement, n)  # R9 before any lock: another school's row is not touched
    student = lock_student(agreement.student_id)
    agreement = recheck("certify", reviewer, Agreement, agreement.id, n)
    advance(agreement, "certify")
    if agreement.number is None:
        school = db.session.get(School, agreement.school_id)
        seq = _next_sequence(school.id, student.graduation_year)
        agreement.number = agreement_number(agreement.kind, student.graduation_year, school.code, seq)
    agreement.certified_at = agreement.reviewed_at = agreement.updated_at = n
    agreement.review_reason = None
    documents.seal(agreement)
    event(reviewer_name(reviewer), "certify", None, n, agreement_id=agreement.id)
    notify_parties(agreement, "协议书已鉴证生效",
                   f"{agreement.employer_name}与学生的协议书已通过学校鉴证，协议书编号 {agreement.number}。", n)
    commit()
    return agreement


@transition
def decline(reviewer, agreement, reason, now=None):
    """签约审核不通过 with a reason (R9); the student may sign with others again."""
    n = utc(now)
    check("decline", reviewer, agreement, n)
    reason = reason_text(reason, "请填写审核不通过原因", "R9")
    agreement = recheck("decline", reviewer, Agreement, agreement.id, n)
    advance(agreement, "decline")
    agreement.reviewed_at = agreement.updated_at = n
    agreement.review_reason = reason
    event(reviewer_name(reviewer), "decline", reason, n, agreement_id=agreement.id)
    notify_parties(agreement, "协议书审核不通过", f"学校审核不通过，原因：{reason}", n)
    commit()
    return agreement


@transition
def withdraw_certification(reviewer, agreement, reason, now=None):
    """撤回审核 (R10): back to accepted, the number is kept."""
    n = utc(now)
    check("withdraw", reviewer, agreement, n)
    reason = reason_text(reason, "请填写撤回审核原因", "R10")
    agreement = recheck("withdraw", reviewer, Agreement, agreement.id, n)
    advance(agreement, "withdraw")
    agreement.certified_at = None
    agreement.reviewed_at = agreement.updated_at = n
    event(reviewer_name(reviewer), "withdraw", reason, n, agreement_id=agreement.id)
    notify_parties(agreement, "学校撤回了协议书审核", f"学校撤回了对协议书 {agreement.number} 的审核，原因：{reason}", n)
    commit()
    return agreement


# ---------------------------------------------------------------- paper agreements (纸质签约)

@transition
def record_paper_agreement(student, terms, proof, now=None):
    """录入协议书: the student enters a signed paper agreement with its scan; it waits for the
    school's review like an electronic one (certify/decline), numbered with kind digit 2 (R9)."""
    n = utc(now)
    clean = validate_paper_terms(terms, now)
    if not isinstance(proof, uploads.Upload):
        raise WorkflowError("请上传已签字盖章的纸质协议书扫描件", "R13", {"proof": "请上传协议书扫描件"})
    student = lock_student(student.id)
    check("paper_record", student, None, n)
    # The employer is not an online party of a paper agreement (R13): no employer_id, so none of
    # its pages lists it; statistics find the employer by the credit code.
    agreement = Agreement(
        kind="paper", status=MOVES["paper_record"].target, student_id=student.id, school_id=student.school_id,
        employer_id=None, feedback_days=0,
        sent_at=n, expires_at=n, accepted_at=n, answered_at=n, updated_at=n, **clean,
    )
    db.session.add(agreement)
    try:
        db.session.flush()
    except IntegrityError:  # R6 backstop
        raise WorkflowError("你已有生效或待审核的签约，不能录入纸质协议书", "R6")
    event("学生本人", "paper_record", None, n, agreement_id=agreement.id)
    notify(users_of(school_id=student.school_id), f"待审核：{student.name}的纸质协议书",
           f"{student.name}录入了与{agreement.employer_name}的纸质协议书，请审核。",
           link=f"/school/review/{agreement.id}", now=n)
    agreement.proof_path = uploads.save(proof, "paper")
    commit_or_discard(agreement.proof_path)
    return agreement


def commit_or_discard(*keys):
    """Commit; if it fails, remove the files this transaction stored (nothing half-written)."""
    try:
        commit()
    except BaseException:
        for key in keys:
            uploads.discard(key)
        raise



