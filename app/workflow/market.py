"""网上就业市场 (R16, R17): 我要招聘 (postings), a school hiding a posting, 我要求职 (applications),
and the link that no provincial platform has: an application that becomes an offer.

States and guards are rows of the transition table (`table.py`: posting_*, posting_hide/unhide,
application_*); every function here checks its row, writes the change, its FlowEvent and the
notices in one transaction. The 求职简历 and 收藏 change no status and live here beside them, so
the market's text checks (R15: length, control characters, no HTML) have one text.
"""
import re
from datetime import timedelta
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import labels, regions, uploads
from ..extensions import db
from ..models import (
    OFFERABLE_APPLICATION_STATUSES,
    InviteListEntry,
    JobApplication,
    JobPosting,
    PostingFavorite,
    PostingHide,
    Resume,
    School,
    utcnow,
)
from ..notify import notify, recipients_of, users_of
from .base import (
    commit,
    control_problem,
    day_end_instant,
    event,
    reason_text,
    reviewer_name,
    transition,
    utc,
)
from .errors import WorkflowError
from .fields import MONEY_MAX, _choice_field, _int_field, _text_field, as_date, valid_phone
from .guards import employers_posting
from .review import commit_or_discard
from .table import MOVES, advance, check, recheck, why_not

POSTING_FIELDS = ("title", "job_category", "headcount", "region", "salary_min", "salary_max", "education",
                  "major", "major_class", "deadline", "description", "contact_name", "contact_phone")
POSTING_LABELS = {
    "title": "职位名称", "job_category": "工作职位类别", "headcount": "招聘人数", "region": "工作地点",
    "salary_min": "薪资下限", "salary_max": "薪资上限", "education": "学历要求", "major": "专业要求",
    "major_class": "专业类", "deadline": "截止日期", "description": "职位描述", "contact_name": "联系人",
    "contact_phone": "联系电话",
}
RESUME_FIELDS = {"education": "教育经历", "skills": "专业技能", "internships": "实习经历", "awards": "获奖情况"}
DESCRIPTION_MAX, RESUME_TEXT_MAX, COVER_NOTE_MAX, HEADCOUNT_MAX = 2000, 1000, 500, 10_000
DEADLINE_MAX_DAYS = 366  # a posting runs at most a year

# A tag (<b>, </p>, <!-- …, <script …): postings and résumés are plain text (R15).
_MARKUP = re.compile(r"<\s*[/!?]?\s*[A-Za-z]")


def _no_markup(values, errors, name, label):
    if name not in errors and _MARKUP.search(str(values.get(name) or "")):
        errors[name] = f"{label}不能包含HTML标签，请输入纯文字"


def _line(values, errors, clean, name, label, max_len, required=True):
    """One line of plain text: `fields._text_field` (length, control characters) and no markup."""
    _text_field(values, errors, clean, name, label, max_len, required)
    _no_markup(values, errors, name, label)


def _lines(values, errors, clean, name, label, max_len, required=True):
    """A textarea of plain text: line breaks allowed, other control characters and markup not."""
    value = str(values.get(name) or "").strip()
    if required and not value:
        errors[name] = f"请输入{label}"
    elif len(value) > max_len:
        errors[name] = f"{label}不能超过{max_len}个字"
    elif control_problem(value, label, multiline=True):
        errors[name] = control_problem(value, label, multiline=True)
    _no_markup(values, errors, name, label)
    clean[name] = value or None


def validate_posting(values, now=None):
    """R15/R16 for a posting's fields: a clean dict, or WorkflowError with `fields`."""
    errors, clean = {}, {}
    line = partial(_line, values, errors, clean)
    line("title", "职位名称", 100)
    _choice_field(values, errors, clean, "job_category", labels.JOB_CATEGORY, "工作职位类别")
    _int_field(values, errors, clean, "headcount", "招聘人数", 1, HEADCOUNT_MAX)
    region = str(values.get("region") or "").strip()
    if not regions.is_valid(region):
        errors["region"] = "请选择工作地点"
    clean["region"] = region
    _int_field(values, errors, clean, "salary_min", "薪资下限", 0, MONEY_MAX)
    _int_field(values, errors, clean, "salary_max", "薪资上限", 0, MONEY_MAX)
    if clean.get("salary_min") is not None and clean.get("salary_max") is not None \
            and clean["salary_min"] > clean["salary_max"]:
        errors["salary_max"] = "薪资上限不能低于薪资下限"
    _choice_field(values, errors, clean, "education", labels.EDUCATION_REQUIRED, "学历要求")
    line("major", "专业要求", 200, required=False)
    major_class = str(values.get("major_class") or "").strip()
    if major_class and major_class not in labels.MAJOR_CLASS:
        errors["major_class"] = "请选择专业类"
    clean["major_class"] = major_class or None
    today = labels.local(utc(now)).date()
    try:
        deadline = as_date(values.get("deadline"))
        if deadline < today:
            errors["deadline"] = "截止日期不能早于今天"
        elif deadline > today + timedelta(days=DEADLINE_MAX_DAYS):
            errors["deadline"] = "截止日期不能晚于一年以后"
        clean["deadline"] = deadline
    except (ValueError, TypeError):
        errors["deadline"] = "请选择截止日期（格式 2026-07-01）"
    _lines(values, errors, clean, "description", "职位描述", DESCRIPTION_MAX)
    line("contact_name", "联系人", 50)
    phone = str(values.get("contact_phone") or "").strip()
    if not valid_phone(phone):
        errors["contact_phone"] = "联系电话格式不正确（手机号或带区号的固定电话）"
    clean["contact_phone"] = phone
    if errors:
        raise WorkflowError("招聘职位填写有误，请按提示修改", "R15", errors)
    return clean


def _place(posting):
    """The derived columns: where it is (for the filters), when it closes, what the search reads."""
    path = regions.path_of(posting.region)
    posting.province_code = path[0]
    posting.city_code = path[1] if len(path) > 1 else path[0]
    posting.closes_at = day_end_instant(posting.deadline)
    posting.search_text = " ".join((posting.title, posting.employer_name, posting.description)).lower()


def _notify_employer(posting, subject, body, n):
    notify(users_of(employer_id=posting.employer_id), subject, body,
           link=f"/employer/market/{posting.id}/applicants", now=n)


# ---------------------------------------------------------------- postings (R16)

@transition
def create_posting(employer, values, publish=False, now=None):
    """保存 (草稿) or 保存并发布 a posting; returns it."""
    n = utc(now)
    check("posting_create", employer, None, n)
    clean = validate_posting(values, n)
    posting = JobPosting(employer_id=employer.id, employer_name=employer.name, status=MOVES["posting_create"].target,
                         created_at=n, updated_at=n, **clean)
    _place(posting)
    db.session.add(posting)
    db.session.flush()
    event(employer.name, "posting_create", None, n, posting_id=posting.id)
    if publish:
        check("posting_publish", employer, posting, n)
        _publish(employer, posting, n)
    commit()
    return posting


@transition
def update_posting(employer, posting, values, now=None):
    """修改 a posting in any state; an open one stays open (R16: until its new 截止日期)."""
    n = utc(now)
    refusal = employers_posting(employer, posting, n)
    if refusal is not None:
        raise refusal.error()
    clean = validate_posting(values, n)
    _close_due(n, JobPosting.id == posting.id)  # past its deadline: 已截止 first, then 重新上线
    posting = db.session.get(JobPosting, posting.id)
    db.session.refresh(posting)
    changed = [f for f in POSTING_FIELDS if getattr(posting, f) != clean[f]]
    if not changed:
        raise WorkflowError("招聘职位内容没有变化", "R15")
    for name, value in clean.items():
        setattr(posting, name, value)
    posting.employer_name = employer.name
    _place(posting)
    posting.updated_at = n
    event(employer.name, "posting_edit", "修改：" + "、".join(POSTING_LABELS[f] for f in changed), n,
          posting_id=posting.id)
    commit()
    return posting


def _publish(employer, posting, n, action="posting_publish"):
    advance(posting, action)
    posting.updated_at = n
    if action != "posting_close":
        posting.published_at = posting.published_at or n
    event(employer.name, action, None, n, posting_id=posting.id)


@transition
def _move_posting(employer, posting, action, now):
    n = utc(now)
    if action == "posting_reopen":
        _close_due(n, JobPosting.id == posting.id)  # an overdue open posting is closed first
    posting = recheck(action, employer, JobPosting, posting.id, n)
    _publish(employer, posting, n, action)
    commit()
    return posting


def publish_posting(employer, posting, now=None):
    """发布 a draft (R16)."""
    return _move_posting(employer, posting, "posting_publish", now)


def close_posting(employer, posting, now=None):
    """下线: the employer stops the posting before its 截止日期; it may reopen it."""
    return _move_posting(employer, posting, "posting_close", now)


def reopen_posting(employer, posting, now=None):
    """重新上线 an offline or closed posting whose 截止日期 is still ahead."""
    return _move_posting(employer, posting, "posting_reopen", now)


def _close_due(n, *conditions):
    """Mark open postings past their 截止日期 closed (R16), with a FlowEvent and the employer's
    notice each. The WHERE re-checks the status, so two runs close each posting once."""
    move = MOVES["posting_expire"]
    rows = db.session.execute(
        update(JobPosting).where(JobPosting.status.in_(move.sources), JobPosting.closes_at <= n, *conditions)
        .values(status=move.target, updated_at=n)
        .returning(JobPosting.id, JobPosting.employer_id, JobPosting.title)
        .execution_options(synchronize_session=False)).all()
    logins = recipients_of("employer", [r.employer_id for r in rows])
    for posting_id, employer_id, title in rows:
        event("系统", "posting_expire", "已到截止日期", n, posting_id=posting_id)
        notify(logins.get(employer_id, []), "招聘职位已截止",
               f"“{title}”已到截止日期，停止接收投递；修改截止日期后可重新上线。",
               link=f"/employer/market/{posting_id}/applicants", now=n)
    return len(rows)


@transition
def close_due(now=None):
    """The job: every open posting past its 截止日期 → 已截止 (R16). Safe to run twice. Returns the count."""
    count = _close_due(utc(now))
    commit()
    return count


# ---------------------------------------------------------------- a school hides a posting (R16)

@transition
def hide_posting(reviewer, posting, reason, now=None):
    """隐藏: the school's students no longer find or apply to the posting; its employer is told why."""
    n = utc(now)
    reason = reason_text(reason, "请填写隐藏原因", "R16", max_len=200)
    check("posting_hide", reviewer, posting, n)
    row = db.session.scalar(select(PostingHide).where(
        PostingHide.posting_id == posting.id, PostingHide.school_id == reviewer.school_id).with_for_update())
    if row is None:
        row = PostingHide(posting_id=posting.id, school_id=reviewer.school_id, created_at=n)
        db.session.add(row)
    row.status, row.reason, row.updated_at = MOVES["posting_hide"].target, reason, n
    try:
        db.session.flush()
    except IntegrityError:  # two reviewers at once: the first one hid it
        raise WorkflowError("本校已隐藏该职位", "R16")
    school = db.session.get(School, reviewer.school_id)
    event(reviewer_name(reviewer), "posting_hide", reason, n, posting_id=posting.id)
    _notify_employer(posting, f"{school.name}隐藏了招聘职位“{posting.title}”",
                     f"{school.name}已对本校学生隐藏“{posting.title}”，原因：{labels.clause(reason)}。", n)
    commit()
    return row


@transition
def unhide_posting(reviewer, hide, now=None):
    """恢复显示 a posting the school hid."""
    n = utc(now)
    hide = recheck("posting_unhide", reviewer, PostingHide, hide.id, n)
    advance(hide, "posting_unhide")
    hide.updated_at = n
    posting = db.session.get(JobPosting, hide.posting_id)
    school = db.session.get(School, hide.school_id)
    event(reviewer_name(reviewer), "posting_unhide", None, n, posting_id=posting.id)
    _notify_employer(posting, f"{school.name}恢复显示招聘职位“{posting.title}”",
                     f"{school.name}的学生又可以查看并投递“{posting.title}”。", n)
    commit()
    return hide


# ---------------------------------------------------------------- applications (R17)

@transition
def apply(student, posting, cover_note="", now=None):
    """投递简历 to a posting with a short cover note (求职信). Returns the application."""
    n = utc(now)
    errors, clean = {}, {}
    _lines({"cover_note": cover_note}, errors, clean, "cover_note", "求职信", COVER_NOTE_MAX, required=False)
    if errors:
        raise WorkflowError(errors["cover_note"], "R15", errors)
    check("application_submit", student, posting, n)
    application = JobApplication(posting_id=posting.id, student_id=student.id, school_id=student.school_id,
                                 employer_id=posting.employer_id, cover_note=clean["cover_note"],
                                 status=MOVES["application_submit"].target, created_at=n, updated_at=n)
    db.session.add(application)
    try:
        db.session.flush()
    except IntegrityError:  # R17 backstop: uq_job_application (a double click)
        raise WorkflowError("你已投递过该职位，每个职位只能投递一次", "R17")
    event("学生本人", "application_submit", None, n, application_id=application.id)
    notify(users_of(employer_id=posting.employer_id), f"新的求职投递：{student.name}",
           f"{student.name}（{student.school.name}，{student.major}）投递了“{posting.title}”。",
           link=f"/employer/market/applications/{application.id}", now=n)
    commit()
    return application


@transition
def withdraw_application(student, application, now=None):
    """撤回投递 while the employer has not acted on it (R17)."""
    n = utc(now)
    application = recheck("application_withdraw", student, JobApplication, application.id, n)
    advance(application, "application_withdraw")
    application.updated_at = n
    event("学生本人", "application_withdraw", None, n, application_id=application.id)
    notify(users_of(employer_id=application.employer_id), f"{student.name}撤回了投递",
           f"{student.name}撤回了对“{application.posting.title}”的投递。",
           link=f"/employer/market/{application.posting_id}/applicants", now=n)
    commit()
    return application


_EMPLOYER_ANSWERS = {
    "application_view": ("{employer}查看了你的简历", "{employer}已查看你对“{title}”的投递。"),
    "application_interview": ("{employer}邀请你面试", "{employer}邀请你参加“{title}”的面试，请留意单位联系人的电话或邮件。"),
    "application_unsuitable": ("投递结果：{title}", "很遗憾，{employer}认为你与“{title}”岗位暂不匹配。感谢你的投递。"),
}


@transition
def answer_application(employer, application, action, now=None):
    """The employer's marks on an application: 已查看 (opening it), 邀请面试, 不合适."""
    if action not in _EMPLOYER_ANSWERS:
        raise WorkflowError("无权办理此操作", "R0")
    n = utc(now)
    application = recheck(action, employer, JobApplication, application.id, n)
    advance(application, action)
    application.updated_at = n
    event(employer.name, action, None, n, application_id=application.id)
    subject, body = _EMPLOYER_ANSWERS[action]
    words = {"employer": employer.name, "title": application.posting.title}
    notify(users_of(student_id=application.student_id), subject.format(**words), body.format(**words),
           link="/student/market/applications", now=n)
    commit()
    return application


def view_application(employer, application, now=None):
    """Opening an applicant's page marks a new application 已查看 (once; later visits change nothing)."""
    if why_not("application_view", employer, application, now) is None:
        return answer_application(employer, application, "application_view", now)
    return application


@transition
def shortlist(employer, application, now=None):
    """加入签约发送列表 from an application: no R2 search, because the graduate applied to this
    employer (R17). The entry remembers the application, so the 邀请函 is prefilled from its
    posting and the application becomes 已发邀约 when the offer goes out (`mark_offered`)."""
    n = utc(now)
    check("application_offer", employer, application, n)
    entry = db.session.scalar(select(InviteListEntry).where(
        InviteListEntry.employer_id == employer.id, InviteListEntry.student_id == application.student_id))
    if entry is None:
        entry = InviteListEntry(employer_id=employer.id, student_id=application.student_id, created_at=n)
        db.session.add(entry)
    entry.application_id = application.id
    try:
        commit()
    except IntegrityError:  # a double click added the entry a moment ago
        db.session.rollback()
    return entry


def terms_from_posting(posting):
    """The 邀请函 terms a posting answers (R17: the offer to an applicant starts from them); the rest
    comes from the employer's profile (`fields.terms_from_profile`) and the form."""
    return {"job_category": posting.job_category, "position": posting.title, "work_region": posting.region,
            "report_region": posting.region, "salary": posting.salary_min, "probation_salary": posting.salary_min,
            "contact_name": posting.contact_name, "contact_phone": posting.contact_phone}


def mark_offered(employer, agreements, n):
    """Inside `offers.invite`'s transaction: each new offer to a student whose list entry came from
    an application to this employer turns that application 已发邀约 and links the offer (R17)."""
    by_student = {a.student_id: a for a in agreements}
    applications = db.session.scalars(
        select(JobApplication).join(InviteListEntry, InviteListEntry.application_id == JobApplication.id)
        .where(InviteListEntry.employer_id == employer.id, InviteListEntry.student_id.in_(by_student),
               JobApplication.employer_id == employer.id,
               JobApplication.status.in_(OFFERABLE_APPLICATION_STATUSES))
        .with_for_update()).all()
    for application in applications:
        agreement = by_student[application.student_id]
        advance(application, "application_offer")
        application.agreement_id, application.updated_at = agreement.id, n
        event(employer.name, "application_offer", f"邀请函：{agreement.position}", n, application_id=application.id)


# ---------------------------------------------------------------- 求职简历 and 收藏 (no status)

def save_resume(student, values, pdf=None, remove_pdf=False, now=None):
    """求职简历: the graduate's own text (plain, each part at most RESUME_TEXT_MAX characters), an
    optional PDF (checked like every upload, PDF only) and 隐藏简历."""
    n = utc(now)
    errors, clean = {}, {}
    for name, label in RESUME_FIELDS.items():
        _lines(values, errors, clean, name, label, RESUME_TEXT_MAX, required=False)
    if pdf is not None and pdf.ext != "pdf":
        errors["pdf"] = "简历附件须为 PDF 文件"
    if errors:
        raise WorkflowError("求职简历填写有误，请按提示修改", "R15", errors)
    resume = db.session.scalar(select(Resume).where(Resume.student_id == student.id)) \
        or Resume(student_id=student.id)
    db.session.add(resume)
    for name, value in clean.items():
        setattr(resume, name, value)
    resume.hidden = bool(values.get("hidden"))
    resume.updated_at = n
    old, key = resume.pdf_path, None
    if pdf is not None:
        resume.pdf_path = key = uploads.save(pdf, "resume")
    elif remove_pdf:
        resume.pdf_path = None
    commit_or_discard(key)
    if old and old != resume.pdf_path:
        uploads.discard(old)
    return resume


def toggle_favorite(student, posting, now=None):
    """收藏 / 取消收藏; returns whether the posting is now saved."""
    row = db.session.scalar(select(PostingFavorite).where(
        PostingFavorite.student_id == student.id, PostingFavorite.posting_id == posting.id))
    if row is not None:
        db.session.delete(row)
        commit()
        return False
    db.session.add(PostingFavorite(student_id=student.id, posting_id=posting.id, created_at=utc(now) or utcnow()))
    try:
        commit()
    except IntegrityError:
        db.session.rollback()
    return True
