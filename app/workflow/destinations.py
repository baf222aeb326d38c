"""Other destinations (其他去向): submitted by the student (a live outcome from submission, R6),
withdrawn before review, approved or declined by the school."""
from sqlalchemy.exc import IntegrityError

from .. import labels, uploads
from ..extensions import db
from ..models import Destination
from ..notify import notify, users_of
from .base import (
    commit,
    event,
    lock_student,
    reason_text,
    reviewer_name,
    transition,
    utc,
)
from .errors import WorkflowError
from .fields import DESTINATION_PROOF, validate_destination
from .review import commit_or_discard
from .table import MOVES, advance, check, recheck


@transition
def submit_destination(student, kind, details, proof=None, now=None):
    """其他去向登记: a live outcome (R6) from submission; the school approves or declines."""
    n = utc(now)
    details_json = validate_destination(kind, details)
    if kind in DESTINATION_PROOF and not isinstance(proof, uploads.Upload):
        raise WorkflowError(f"请上传{DESTINATION_PROOF[kind]}", "R15", {"proof": f"请上传{DESTINATION_PROOF[kind]}"})
    student = lock_student(student.id)  # same lock as accept: one live outcome (R6)
    check("destination_submit", student, None, n)
    destination = Destination(student_id=student.id, school_id=student.school_id, kind=kind, details=details_json,
                              status=MOVES["destination_submit"].target, created_at=n, updated_at=n)
    db.session.add(destination)
    try:
        db.session.flush()
    except IntegrityError:  # R6 backstop
        raise WorkflowError("你已有待审核或已通过的其他去向", "R6")
    event("学生本人", "destination_submit", labels.DESTINATION_KIND[kind], n, destination_id=destination.id)
    notify(users_of(school_id=student.school_id), f"待审核：{student.name}的其他去向",
           f"{student.name}登记了其他去向“{labels.DESTINATION_KIND[kind]}”，请审核。",
           link=f"/school/destinations/{destination.id}", now=n)
    key = None
    if proof is not None:
        destination.proof_path = key = uploads.save(proof, "destination")
    commit_or_discard(key)
    return destination


@transition
def withdraw_destination(student, destination, now=None):
    """The student withdraws a destination before the school reviews it."""
    n = utc(now)
    check("destination_withdraw", student, destination, n)
    lock_student(student.id)
    destination = recheck("destination_withdraw", student, Destination, destination.id, n)
    advance(destination, "destination_withdraw")
    destination.updated_at = n
    event("学生本人", "destination_withdraw", None, n, destination_id=destination.id)
    kind = labels.DESTINATION_KIND.get(destination.kind, destination.kind)
    notify(users_of(school_id=destination.school_id), f"{student.name}撤回了其他去向登记",
           f"{student.name}撤回了待审核的去向登记“{kind}”，无需再审核。",
           link=f"/school/destinations/{destination.id}", now=n)
    commit()
    return destination


@transition
def review_destination(reviewer, destination, approve, reason=None, now=None):
    """其他去向审核: approve, or decline with a reason (the student may then sign or register again)."""
    n = utc(now)
    action = "destination_approve" if approve else "destination_decline"
    check(action, reviewer, destination, n)
    if not approve:
        reason = reason_text(reason, "请填写审核不通过原因", "R9")
    destination = recheck(action, reviewer, Destination, destination.id, n)
    advance(destination, action)
    destination.review_reason = None if approve else reason
    destination.reviewed_at = destination.updated_at = n
    event(reviewer_name(reviewer), action, None if approve else reason, n, destination_id=destination.id)
    kind = labels.DESTINATION_KIND.get(destination.kind, destination.kind)
    notify(users_of(student_id=destination.student_id),
           "其他去向审核通过" if approve else "其他去向审核不通过",
           f"你登记的去向“{kind}”已通过学校审核。" if approve
           else f"你登记的去向“{kind}”未通过学校审核，原因：{reason}", link="/student/destinations", now=n)
    commit()
    return destination
