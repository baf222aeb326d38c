"""毕业生's reads: the home page's to-dos, 电子签约, 纸质签约, 其他去向 and 解约办理 — one student's rows."""
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from .. import workflow
from ..extensions import db
from ..models import Agreement, Destination, Termination


def offers_todo(student):
    """邀约待办: offers still answerable (R4 on the clock)."""
    return db.session.scalar(select(func.count()).select_from(Agreement).where(
        Agreement.student_id == student.id, workflow.pending_clause()))


def termination_todo(student):
    """解约待办: requests the employer sent that wait for this student's answer."""
    return db.session.scalar(select(func.count()).select_from(Termination).where(
        Termination.student_id == student.id, Termination.status == "requested",
        Termination.initiator == "employer"))


def offers(student, employer_name=""):
    """电子签约: the student's electronic offers, newest first, optionally by employer name."""
    query = (select(Agreement).where(Agreement.student_id == student.id, Agreement.kind == "electronic")
             .order_by(Agreement.sent_at.desc(), Agreement.id.desc()))
    if employer_name:
        query = query.where(Agreement.employer_name.contains(employer_name))
    return query


def paper(student):
    """纸质签约: the paper agreements the student entered."""
    return (select(Agreement).where(Agreement.student_id == student.id, Agreement.kind == "paper")
            .order_by(Agreement.id.desc()))


def destinations(student):
    return db.session.scalars(select(Destination).where(Destination.student_id == student.id)
                              .order_by(Destination.id.desc())).all()


def terminations(student, employer_name=""):
    """解约办理: certified (or since terminated) agreements of both kinds, each with its newest
    termination if any. Scoped to the student inside the subquery, so it never aggregates the
    whole table."""
    newest = (select(Termination.agreement_id, func.max(Termination.id).label("tid"))
              .where(Termination.student_id == student.id)
              .group_by(Termination.agreement_id).subquery())
    t = aliased(Termination)
    query = (select(Agreement, t)
             .outerjoin(newest, newest.c.agreement_id == Agreement.id)
             .outerjoin(t, t.id == newest.c.tid)
             .where(Agreement.student_id == student.id, Agreement.status.in_(("certified", "terminated")))
             .order_by(Agreement.certified_at.desc(), Agreement.id.desc()))
    if employer_name:
        query = query.where(Agreement.employer_name.contains(employer_name))
    return query
