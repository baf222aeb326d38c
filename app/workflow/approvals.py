"""单位审核 (R1): an employer applies to a school; the school approves or refuses with a reason.
One approval anywhere lets the employer offer to students of every school."""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Employer, EmployerApproval
from ..notify import notify, users_of
from .base import commit, reason_text, reviewer_name, transition, utc
from .errors import WorkflowError
from .table import MOVES, advance, check, recheck


@transition
def apply_for_approval(employer, school, now=None):
    """申请学校审核 at another school, or again after a refusal (R1)."""
    n = utc(now)
    approval = db.session.scalar(select(EmployerApproval).where(
        EmployerApproval.employer_id == employer.id, EmployerApproval.school_id == school.id).with_for_update())
    check("employer_apply", employer, school, n)
    if approval is None:
        approval = EmployerApproval(employer_id=employer.id, school_id=school.id, created_at=n)
        db.session.add(approval)
    approval.status, approval.reason, approval.reviewed_at = MOVES["employer_apply"].target, None, None
    approval.created_at = n
    try:
        db.session.flush()
    except IntegrityError:  # the same request twice at once: the first one is there
        raise WorkflowError("已向该校提交审核申请", "R1")
    notify(users_of(school_id=school.id), f"待审核单位：{employer.name}",
           f"{employer.name}（{employer.credit_code}）申请本校审核。", link="/school/employers/", now=n)
    commit()
    return approval


@transition
def review_employer(reviewer, approval, approve, reason=None, now=None):
    """单位审核 (R1): approve, or refuse with a reason. One approval anywhere lets it offer everywhere."""
    n = utc(now)
    action = "employer_approve" if approve else "employer_refuse"
    check(action, reviewer, approval, n)
    # Two reviewers deciding at once: the second waits here and then sees the first decision.
    approval = recheck(action, reviewer, EmployerApproval, approval.id, n)
    if not approve:
        approval.reason = reason_text(reason, "请填写审核不通过原因", "R1", max_len=200)
    advance(approval, action)
    approval.reviewed_at = n
    employer = db.session.get(Employer, approval.employer_id)
    subject = "单位审核通过" if approve else "单位审核不通过"
    body = (f"{reviewer_name(reviewer)}已审核通过贵单位，现在可以向所有学校的学生发送签约邀请。" if approve
            else f"{reviewer_name(reviewer)}审核不通过，原因：{approval.reason}")
    notify(users_of(employer_id=employer.id), subject, body, link="/employer/", now=n)
    commit()
    return approval
