"""用人单位's reads: home counts, the invite list, 数据管理 tabs, 解约办理 lists."""
from datetime import timedelta

from sqlalchemy import func, select

from .. import labels, workflow
from ..extensions import db
from ..models import Agreement, EmployerApproval, InviteListEntry, School, Student, Termination

OFFER_TABS = [
    ("pending", "待应约"), ("accepted", "已应约"), ("rejected", "已拒绝"),
    ("expired", "已过期"), ("certified", "已签约"),
]
SIGNED_FILTERS = ("school", "year", "name", "id_number", "major", "date_from", "date_to", "status")


def tab_clause(tab, now=None):
    """The 数据管理 tab as SQL; 待应约 and 已过期 read R4 on the clock, not the stored status."""
    if tab == "pending":
        return workflow.pending_clause(now)
    if tab == "expired":
        return workflow.expired_clause(now)
    if tab == "accepted":
        return Agreement.status.in_(("accepted", "declined"))
    if tab == "certified":
        return Agreement.status.in_(("certified", "terminated"))
    return Agreement.status == tab


def home_counts(employer):
    """单位首页: agreements by status, offers still answerable, the invite list, terminations to answer."""
    counts = dict(db.session.execute(
        select(Agreement.status, func.count())
        .where(Agreement.employer_id == employer.id, Agreement.status.in_(("accepted", "certified")))
        .group_by(Agreement.status)).all())
    return {
        "counts": counts,
        "pending_now": db.session.scalar(select(func.count()).select_from(Agreement).where(
            Agreement.employer_id == employer.id, workflow.pending_clause())),
        "listed": db.session.scalar(select(func.count()).select_from(InviteListEntry).where(
            InviteListEntry.employer_id == employer.id)),
        "termination_todo": db.session.scalar(select(func.count()).select_from(Termination).where(
            Termination.employer_id == employer.id, Termination.status == "requested",
            Termination.initiator == "student")),
    }


def approvals(employer):
    """(EmployerApproval, school name) of every school the employer applied to."""
    return db.session.execute(
        select(EmployerApproval, School.name).join(School, School.id == EmployerApproval.school_id)
        .where(EmployerApproval.employer_id == employer.id)).all()


def invite_list(employer):
    """签约发送列表: (entry, student, school name), newest first, and its count."""
    query = (select(InviteListEntry, Student, School.name)
             .join(Student, Student.id == InviteListEntry.student_id)
             .join(School, School.id == Student.school_id)
             .where(InviteListEntry.employer_id == employer.id)
             .order_by(InviteListEntry.id.desc()))
    # Counted on the list table alone: the joins only decorate rows (190 → 7 ms at province scale).
    count = select(func.count()).select_from(InviteListEntry).where(InviteListEntry.employer_id == employer.id)
    return query, count


def offers(employer, tab, name=""):
    """数据管理 (and its 导出列表): the employer's electronic offers in a tab, optionally one student's."""
    scope = (Agreement.employer_id == employer.id, Agreement.kind == "electronic", tab_clause(tab))
    query = (select(Agreement, Student, School.name)
             .join(Student, Student.id == Agreement.student_id)
             .join(School, School.id == Agreement.school_id)
             .where(*scope)
             .order_by(Agreement.sent_at.desc(), Agreement.id.desc()))
    count = select(func.count()).select_from(Agreement).where(*scope)  # the joins don't change it
    if name:
        query, count = query.where(Student.name == name), None
    return query, count


def terminations(employer, todo=False):
    """解约记录, or with `todo` the students' requests waiting for this employer."""
    query = (select(Termination, Agreement, Student, School.name)
             .join(Agreement, Agreement.id == Termination.agreement_id)
             .join(Student, Student.id == Termination.student_id)
             .join(School, School.id == Termination.school_id)
             .where(Termination.employer_id == employer.id)
             .order_by(Termination.created_at.desc(), Termination.id.desc()))
    if todo:
        query = query.where(Termination.status == "requested", Termination.initiator == "student")
    return query


def signed_filters(args):
    """The 已签约成功学生列表 filters from a request's arguments (all text, trimmed)."""
    return {k: (args.get(k) or "").strip() for k in SIGNED_FILTERS}


def signed(employer, f):
    """已签约成功学生列表 (and its export): this employer's certified (or since terminated) electronic
    agreements, each with its open termination if any; filters as the manual lists them."""
    # The open termination of each shown row (uq_termination_open): asked per row of the page,
    # not by joining every open termination of the province.
    t_status = (select(Termination.status).where(Termination.agreement_id == Agreement.id,
                                                 Termination.status.in_(("requested", "agreed")))
                .limit(1).scalar_subquery().label("t_status"))
    status = f["status"] if f["status"] in ("certified", "terminated") else None
    scope = [Agreement.employer_id == employer.id, Agreement.kind == "electronic",
             Agreement.status == status if status else Agreement.status.in_(("certified", "terminated"))]
    if labels.parse_id(f["school"]) is not None:
        scope.append(Agreement.school_id == labels.parse_id(f["school"]))
    day_from, day_to = labels.parse_day(f["date_from"]), labels.parse_day(f["date_to"])
    if day_from:
        scope.append(Agreement.certified_at >= labels.day_start_utc(day_from))
    if day_to:
        scope.append(Agreement.certified_at < labels.day_start_utc(day_to + timedelta(days=1)))
    student_filters = []
    if labels.parse_id(f["year"]) is not None:
        student_filters.append(Student.graduation_year == labels.parse_id(f["year"]))
    if f["name"]:
        student_filters.append(Student.name == f["name"])
    if f["id_number"]:
        student_filters.append(Student.id_number == f["id_number"].upper())
    if f["major"]:
        student_filters.append(Student.major.contains(f["major"]))
    query = (select(Agreement, Student, School.name, t_status)
             .join(Student, Student.id == Agreement.student_id)
             .join(School, School.id == Agreement.school_id)
             .where(*scope, *student_filters)
             .order_by(Agreement.certified_at.desc(), Agreement.id.desc()))
    # Counted on agreement alone (its index) unless a student field filters.
    count = None if student_filters else select(func.count()).select_from(Agreement).where(*scope)
    return query, count
