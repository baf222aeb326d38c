"""Terminations (解约, R11–R13): requested by a signer, agreed by the other side, approved or
refused by the school. A paper agreement's termination is asked by the student with the
employer's release letter and goes straight to the school."""
from sqlalchemy.exc import IntegrityError

from .. import labels, uploads
from ..extensions import db
from ..models import Agreement, Student, Termination
from ..notify import notify, users_of
from .base import (
    commit,
    control_problem,
    event,
    lock_student,
    locked,
    notify_parties,
    party_name,
    reason_text,
    reviewer_name,
    transition,
    utc,
)
from .errors import WorkflowError
from .fields import TERMINATION_REASON_MAX
from .guards import signers_side
from .review import commit_or_discard
from .table import advance, advance_also, check, recheck


@transition
def request_termination(party, agreement, reason, proof=None, now=None):
    """解约申请 by the student or the employer of a certified agreement (R11). For a paper
    agreement only the student asks, with the employer's release letter, and it goes straight
    to the school (R13). The initiator cannot withdraw it."""
    n = utc(now)
    check("termination_request", party, agreement, n)
    reason = reason_text(reason, "请填写解除原因", "R11", max_len=TERMINATION_REASON_MAX)
    lock_student(agreement.student_id)
    agreement = recheck("termination_request", party, Agreement, agreement.id, n)
    side = signers_side(party, agreement)
    paper = agreement.kind == "paper"
    if paper and not isinstance(proof, uploads.Upload):
        raise WorkflowError("纸质协议书解约须上传用人单位开具的解约证明材料", "R13", {"proof": "请上传解约证明材料"})
    termination = Termination(
        agreement_id=agreement.id, student_id=agreement.student_id, school_id=agreement.school_id,
        employer_id=agreement.employer_id, initiator=side, reason=reason,
        # R13: nobody online answers for the employer of a paper agreement: it waits for the school.
        status="agreed" if paper else "requested", created_at=n, updated_at=n,
        agreed_at=n if paper else None,
    )
    db.session.add(termination)
    try:
        db.session.flush()
    except IntegrityError:  # R11 backstop: one open termination per agreement
        raise WorkflowError("该协议书有正在办理的解约，不能再次提出", "R11")
    agreement.updated_at = n
    event(party_name(party), "termination_request", reason, n,
          agreement_id=agreement.id, termination_id=termination.id)
    student = db.session.get(Student, agreement.student_id)
    why = labels.clause(reason)  # inside our sentences: no "…。。" whatever was typed
    if paper:
        notify(users_of(school_id=agreement.school_id), f"待解约审核：{student.name}",
               f"{student.name}申请解除与{agreement.employer_name}的纸质协议书（{agreement.number}），原因：{why}。",
               link=f"/school/terminations/{termination.id}", now=n)
    elif side == "student":
        notify(users_of(employer_id=agreement.employer_id), f"{student.name}提出解约申请",
               f"{student.name}申请解除编号 {agreement.number} 的就业协议，原因：{why}。请在解约办理中处理。",
               link=f"/employer/terminations/{termination.id}", now=n)
    else:
        notify(users_of(student_id=agreement.student_id), f"{agreement.employer_name}提出解约",
               f"{agreement.employer_name}决定与你解除编号 {agreement.number} 的就业协议，原因：{why}。"
               f"请在解约办理中查看。", link=f"/student/terminations/{termination.id}", now=n)
    key = None
    if proof is not None:
        termination.proof_path = key = uploads.save(proof, "termination")
    commit_or_discard(key)
    return termination


@transition
def agree_termination(party, termination, now=None, remark=None):
    """同意 by the other party (R11), with an optional remark the school reads: the request goes
    to the school."""
    n = utc(now)
    remark = (remark or "").strip() or None
    if remark and len(remark) > TERMINATION_REASON_MAX:
        raise WorkflowError(f"意见不能超过{TERMINATION_REASON_MAX}个字", "R11")
    if remark and control_problem(remark, "意见", multiline=True):
        raise WorkflowError(control_problem(remark, "意见", multiline=True), "R11")
    check("termination_agree", party, termination, n)
    agreement = termination.agreement
    lock_student(agreement.student_id)
    termination = recheck("termination_agree", party, Termination, termination.id, n)
    side = signers_side(party, agreement)
    advance(termination, "termination_agree")
    termination.agreed_at = termination.updated_at = n
    event(party_name(party), "termination_agree", remark, n,
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
    commit()
    return termination


@transition
def approve_termination(reviewer, termination, now=None):
    """解约审核通过: the agreement becomes 已解约 and the student may sign again (R11, R12)."""
    n = utc(now)
    check("termination_approve", reviewer, termination, n)
    lock_student(termination.student_id)
    agreement = locked(Agreement, termination.agreement_id)
    termination = locked(Termination, termination.id)
    # Checked before the move: autoflush would otherwise count this very approval (R12).
    check("termination_approve", reviewer, termination, n)
    advance(termination, "termination_approve")
    advance_also(agreement, "termination_approve")
    termination.reviewed_at = termination.updated_at = agreement.updated_at = n
    event(reviewer_name(reviewer), "termination_approve", None, n,
          agreement_id=agreement.id, termination_id=termination.id)
    notify_parties(agreement, "解约审核通过",
                   f"学校已审核通过编号 {agreement.number} 协议书的解约，协议书已解除；学生可重新签约或登记其他去向。", n,
                   termination_id=termination.id)
    commit()
    return termination


@transition
def refuse_termination(reviewer, termination, reason, now=None):
    """解约审核不通过 with a reason: the agreement stays certified; a new request may follow."""
    n = utc(now)
    check("termination_refuse", reviewer, termination, n)
    reason = reason_text(reason, "请填写审核不通过原因", "R11")
    termination = recheck("termination_refuse", reviewer, Termination, termination.id, n)
    advance(termination, "termination_refuse")
    termination.review_reason = reason
    termination.reviewed_at = termination.updated_at = n
    agreement = db.session.get(Agreement, termination.agreement_id)
    event(reviewer_name(reviewer), "termination_refuse", reason, n,
          agreement_id=agreement.id, termination_id=termination.id)
    notify_parties(agreement, "解约审核不通过",
                   f"学校审核不通过编号 {agreement.number} 协议书的解约，协议书仍然有效。原因：{reason}", n,
                   termination_id=termination.id)
    commit()
    return termination

