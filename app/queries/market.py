"""网上就业市场's reads (R16, R17), each scoped to the acting party: an employer's postings and the
applications to them, the graduate's search, applications and saved postings, a school's view of
the published postings with its own hides."""
from sqlalchemy import and_, exists, func, select

from .. import labels, workflow
from ..extensions import db
from ..models import (
    Agreement,
    JobApplication,
    JobPosting,
    PostingFavorite,
    PostingHide,
    Resume,
    School,
    Student,
)

SEARCH_FILTERS = ("q", "province", "city", "category", "education", "salary", "sort", "saved")
SORTS = [("newest", "最新发布"), ("deadline", "截止日期")]
SALARY_STEPS = [3000, 5000, 8000, 10000, 15000, 20000]
APPLICANT_FILTERS = [("all", "全部")] + list(labels.APPLICATION_STATUS.items())


# ---------------------------------------------------------------- employer

def employer_postings(employer):
    """我要招聘: the employer's postings, newest first, each with its count of applications."""
    applied = (select(func.count()).select_from(JobApplication)
               .where(JobApplication.posting_id == JobPosting.id).scalar_subquery().label("applied"))
    query = (select(JobPosting, applied).where(JobPosting.employer_id == employer.id)
             .order_by(JobPosting.id.desc()))
    count = select(func.count()).select_from(JobPosting).where(JobPosting.employer_id == employer.id)
    return query, count


def posting_hides(posting):
    """(PostingHide, school name) of the schools that hid the posting (shown to its employer)."""
    return db.session.execute(
        select(PostingHide, School.name).join(School, School.id == PostingHide.school_id)
        .where(PostingHide.posting_id == posting.id, PostingHide.status == "hidden")
        .order_by(PostingHide.id)).all()


def applicants(employer, posting, status="all"):
    """A posting's applicants: (application, student, school name, résumé hidden), newest first.
    Scoped twice: the employer's own posting and applications to it (R17)."""
    scope = [JobApplication.posting_id == posting.id, JobApplication.employer_id == employer.id]
    if status in labels.APPLICATION_STATUS:
        scope.append(JobApplication.status == status)
    query = (select(JobApplication, Student, School.name, Resume.hidden)
             .join(Student, Student.id == JobApplication.student_id)
             .join(School, School.id == JobApplication.school_id)
             .outerjoin(Resume, Resume.student_id == JobApplication.student_id)
             .where(*scope).order_by(JobApplication.id.desc()))
    return query, select(func.count()).select_from(JobApplication).where(*scope)


def listed_posting(employer, student_ids):
    """The one posting whose applicants these students of the 签约发送列表 are (the 邀请函 is then
    prefilled from it), or None when some were found by search or applied to different postings."""
    from ..models import InviteListEntry

    postings = set(db.session.execute(
        select(InviteListEntry.student_id, JobApplication.posting_id)
        .outerjoin(JobApplication, JobApplication.id == InviteListEntry.application_id)
        .where(InviteListEntry.employer_id == employer.id, InviteListEntry.student_id.in_(student_ids))).all())
    ids = {posting_id for _s, posting_id in postings}
    if len(ids) != 1 or None in ids:
        return None
    return db.session.scalar(select(JobPosting).where(JobPosting.id == ids.pop(), JobPosting.employer_id == employer.id))


def resume_of(student_id):
    return db.session.scalar(select(Resume).where(Resume.student_id == student_id))


def events_of(**target):
    """The FlowEvents of a posting or an application (posting_id= / application_id=), newest first."""
    from ..models import FlowEvent

    (column, value), = target.items()
    return db.session.scalars(select(FlowEvent).where(getattr(FlowEvent, column) == value)
                              .order_by(FlowEvent.id.desc())).all()


# ---------------------------------------------------------------- graduate

def _hidden_by(school_id):
    """SQL: the school hid the posting from its students (R16)."""
    return exists().where(PostingHide.posting_id == JobPosting.id, PostingHide.school_id == school_id,
                          PostingHide.status == "hidden")


def _visible_to(student, now=None):
    """招聘中 (R16, on the clock) and not hidden by the graduate's school."""
    return (workflow.posting_open_clause(now), ~_hidden_by(student.school_id))


def search_filters(args):
    return {k: (args.get(k) or "").strip() for k in SEARCH_FILTERS}


def search(student, f, now=None):
    """我要求职: the open postings the graduate may see, by keyword (title, employer name,
    description: a substring, served by the trigram index on PostgreSQL), place, 职位类别, 学历,
    薪资, or only the saved ones; newest first or by deadline."""
    scope = list(_visible_to(student, now))
    keyword = f["q"][:50].lower()
    if keyword:
        scope.append(JobPosting.search_text.contains(keyword, autoescape=True))
    if f["city"]:
        scope.append(JobPosting.city_code == f["city"])
    elif f["province"]:
        scope.append(JobPosting.province_code == f["province"])
    if f["category"] in labels.JOB_CATEGORY:
        scope.append(JobPosting.job_category == f["category"])
    if f["education"] in labels.EDUCATION:
        scope.append(JobPosting.education.in_(("不限", f["education"])))
    salary = labels.parse_id(f["salary"])
    if salary is not None:
        scope.append(JobPosting.salary_max >= salary)
    if f["saved"]:
        scope.append(exists().where(PostingFavorite.posting_id == JobPosting.id,
                                    PostingFavorite.student_id == student.id))
    order = ((JobPosting.closes_at.asc(), JobPosting.id.asc()) if f["sort"] == "deadline"
             else (JobPosting.published_at.desc(), JobPosting.id.desc()))
    query = select(JobPosting).where(*scope).order_by(*order)
    return query, select(func.count()).select_from(JobPosting).where(*scope)


def visible_posting(student, posting_id, now=None):
    """A posting the graduate may open: 招聘中 and not hidden by the school — or one the graduate
    applied to or saved (its page then says it is closed). Anything else: None (404)."""
    mine = exists().where(JobApplication.posting_id == JobPosting.id, JobApplication.student_id == student.id) | \
        exists().where(PostingFavorite.posting_id == JobPosting.id, PostingFavorite.student_id == student.id)
    visible = and_(*_visible_to(student, now))
    return db.session.scalar(select(JobPosting).where(JobPosting.id == posting_id, visible | mine))


def saved_ids(student, posting_ids):
    if not posting_ids:
        return set()
    return set(db.session.scalars(select(PostingFavorite.posting_id).where(
        PostingFavorite.student_id == student.id, PostingFavorite.posting_id.in_(posting_ids))))


def application_to(student, posting):
    return db.session.scalar(select(JobApplication).where(
        JobApplication.posting_id == posting.id, JobApplication.student_id == student.id))


def student_applications(student):
    """我的投递: (application, posting, the offer it became or None), newest first."""
    query = (select(JobApplication, JobPosting, Agreement)
             .join(JobPosting, JobPosting.id == JobApplication.posting_id)
             .outerjoin(Agreement, Agreement.id == JobApplication.agreement_id)
             .where(JobApplication.student_id == student.id).order_by(JobApplication.id.desc()))
    return query, select(func.count()).select_from(JobApplication).where(JobApplication.student_id == student.id)


def applied_from(agreement):
    """The application an offer started from (电子签约's 查看邀请函 links it), or None."""
    return db.session.scalar(select(JobApplication).where(JobApplication.agreement_id == agreement.id))


# ---------------------------------------------------------------- school

def school_postings(school, f, now=None):
    """招聘职位管理: published postings (not drafts) by keyword and state, with this school's hide
    (PostingHide or None) and the number of its students who applied."""
    mine = (select(func.count()).select_from(JobApplication)
            .where(JobApplication.posting_id == JobPosting.id, JobApplication.school_id == school.id)
            .scalar_subquery().label("mine"))
    scope = [JobPosting.status != "draft"]
    if f.get("q"):
        scope.append(JobPosting.search_text.contains(f["q"][:50].lower(), autoescape=True))
    if f.get("state") == "open":
        scope.append(workflow.posting_open_clause(now))
    if f.get("state") == "hidden":
        scope.append(_hidden_by(school.id))
    query = select(JobPosting, mine).where(*scope).order_by(JobPosting.id.desc())
    return query, select(func.count()).select_from(JobPosting).where(*scope)


def school_hides(school, posting_ids):
    """{posting id: PostingHide} of this school for the shown postings."""
    if not posting_ids:
        return {}
    return {h.posting_id: h for h in db.session.scalars(select(PostingHide).where(
        PostingHide.school_id == school.id, PostingHide.posting_id.in_(posting_ids)))}
