"""学校就业部门's reads: home counts, 签约审核, 解约审核, 其他去向审核, 单位审核 — all scoped to one school."""
from sqlalchemy import func, select

from .. import caching, labels
from ..extensions import db
from ..models import Agreement, Destination, Employer, EmployerApproval, FlowEvent, Student, Termination

REVIEW_FILTERS = [
    ("accepted", "待审核"), ("certified", "签约审核通过"), ("declined", "签约审核不通过"),
    ("terminated", "已解约"), ("all", "全部"),
]
TERMINATION_FILTERS = [
    ("agreed", "等待解约审核"), ("approved", "解约审核通过"), ("refused", "解约审核不通过"),
    ("requested", "待对方处理"), ("all", "全部"),
]
DESTINATION_FILTERS = [
    ("submitted", "待审核"), ("approved", "审核通过"), ("declined", "审核不通过"), ("withdrawn", "已撤回"), ("all", "全部"),
]


def home_counts(school):
    return {
        "counts": dict(db.session.execute(
            select(Agreement.status, func.count())
            .where(Agreement.school_id == school.id, Agreement.status.in_(("accepted", "certified")))
            .group_by(Agreement.status)).all()),
        "employers_waiting": db.session.scalar(select(func.count()).select_from(EmployerApproval).where(
            EmployerApproval.school_id == school.id, EmployerApproval.status == "pending")),
        "students": db.session.scalar(select(func.count()).select_from(Student).where(Student.school_id == school.id)),
        "terminations_waiting": db.session.scalar(select(func.count()).select_from(Termination).where(
            Termination.school_id == school.id, Termination.status == "agreed")),
        "destinations_waiting": db.session.scalar(select(func.count()).select_from(Destination).where(
            Destination.school_id == school.id, Destination.status == "submitted")),
    }


def filter_options(school_id):
    """The 院系 and 专业 choices of the 签约审核 filters: two DISTINCTs over the school's students
    (~10 ms for a big school), kept per process for FILTER_OPTIONS_CACHE_SECONDS — a roster
    import's new majors appear in the choices within that time."""
    def compute():
        return tuple(db.session.scalars(select(column).where(Student.school_id == school_id)
                                        .distinct().order_by(column)).all()
                     for column in (Student.department, Student.major))

    return caching.remembered("filter_options", "FILTER_OPTIONS_CACHE_SECONDS", 300, school_id, compute)


def reviews(school, f):
    """签约审核: (agreement, student) by the filters `f` (status, department, major, employer, name)."""
    scope = [Agreement.school_id == school.id,
             Agreement.status.in_(("accepted", "certified", "declined", "terminated"))]
    if f["status"] != "all":
        scope.append(Agreement.status == f["status"])
    if f["employer"]:
        scope.append(Agreement.employer_name.contains(f["employer"]))
    query = (select(Agreement, Student)
             .join(Student, Student.id == Agreement.student_id)
             .where(*scope)
             .order_by(Agreement.updated_at.desc(), Agreement.id.desc()))
    # Counted on agreement alone (its index) unless a student field filters.
    count = select(func.count()).select_from(Agreement).where(*scope)
    if f["department"]:
        query, count = query.where(Student.department == f["department"]), None
    if f["major"]:
        query, count = query.where(Student.major == f["major"]), None
    if f["name"]:
        # Student.school_id repeats the scope so the (school_id, name) index serves the search.
        query, count = query.where(Student.school_id == school.id,
                                   (Student.name == f["name"]) | (Student.student_no == f["name"])), None
    return query, count


def terminations(school, f):
    """解约审核: (termination, agreement, student) by status, student name/学号 and employer."""
    query = (select(Termination, Agreement, Student)
             .join(Agreement, Agreement.id == Termination.agreement_id)
             .join(Student, Student.id == Termination.student_id)
             .where(Termination.school_id == school.id)
             .order_by(Termination.updated_at.desc(), Termination.id.desc()))
    if f["status"] != "all":
        query = query.where(Termination.status == f["status"])
    if f["name"]:
        query = query.where((Student.name == f["name"]) | (Student.student_no == f["name"]))
    if f["employer"]:
        query = query.where(Agreement.employer_name.contains(f["employer"]))
    return query


def termination_answer(termination):
    """The other side's 同意 (with its remark), for the school's decision."""
    return db.session.scalar(select(FlowEvent).where(
        FlowEvent.termination_id == termination.id, FlowEvent.action == "termination_agree"))


def destinations(school, f):
    """其他去向审核: (destination, student) by status, kind and student name/学号."""
    query = (select(Destination, Student).join(Student, Student.id == Destination.student_id)
             .where(Destination.school_id == school.id)
             .order_by(Destination.updated_at.desc(), Destination.id.desc()))
    if f["status"] != "all":
        query = query.where(Destination.status == f["status"])
    if f["kind"] in labels.DESTINATION_KIND:
        query = query.where(Destination.kind == f["kind"])
    if f["name"]:
        query = query.where((Student.name == f["name"]) | (Student.student_no == f["name"]))
    return query


def destination_events(destination):
    return db.session.scalars(select(FlowEvent).where(FlowEvent.destination_id == destination.id)
                              .order_by(FlowEvent.id.desc())).all()


def employer_approvals(school, status):
    """单位审核: (approval, employer) submitted to this school, by status."""
    query = (select(EmployerApproval, Employer).join(Employer, Employer.id == EmployerApproval.employer_id)
             .where(EmployerApproval.school_id == school.id).order_by(EmployerApproval.created_at.desc()))
    if status != "all":
        query = query.where(EmployerApproval.status == status)
    return query
