"""What every transition shares: time (R4's clock), row locks, FlowEvents, the commit.

Concurrency (R3, R6, R9): functions that can make an outcome live lock the student row first
(SELECT … FOR UPDATE; on SQLite a no-op UPDATE that takes the write lock, see `locked`), then
re-read the row they change; partial unique indexes back the checks up, and their IntegrityError
becomes the same WorkflowError. Lock order is always student → agreement → termination → counter,
so calls cannot deadlock.
"""
import functools
from datetime import datetime, time, timedelta, timezone

from flask import has_request_context
from sqlalchemy import and_, select, update

from .. import labels
from ..extensions import db
from ..models import Agreement, FlowEvent, JobPosting, School, Student
from ..notify import notify, users_of
from .errors import WorkflowError

# ---------------------------------------------------------------- time

utc = labels.as_utc  # the storage form of a time (naive UTC); None → now


def day_end_instant(last_day):
    """24:00 (Asia/Shanghai) of `last_day`, as naive UTC: when an offer (R4) or a posting (R16) closes."""
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=labels.SHANGHAI)
    return end.astimezone(timezone.utc).replace(tzinfo=None)


def expiry_instant(sent_utc, feedback_days):
    """R4: 24:00 (Asia/Shanghai) of day `sent + feedback_days`, as naive UTC."""
    return day_end_instant(labels.local(sent_utc).date() + timedelta(days=feedback_days))


def overdue(agreement, now=None):
    """R4 on read: a pending offer past its deadline, whether or not the expiry job has run."""
    return agreement.status == "pending" and utc(now) >= agreement.expires_at


def effective_status(agreement, now=None):
    """The status a person sees: a pending offer past its deadline reads 已过期 (R4)."""
    return "expired" if overdue(agreement, now) else agreement.status


def pending_clause(now=None):
    """SQL for 'still answerable' (待应约): pending and not past its deadline (R4)."""
    return and_(Agreement.status == "pending", Agreement.expires_at > utc(now))


def expired_clause(now=None):
    """SQL for 已过期, including offers the job has not marked yet (R4)."""
    n = utc(now)
    return (Agreement.status == "expired") | and_(Agreement.status == "pending", Agreement.expires_at <= n)


def posting_overdue(posting, now=None):
    """R16 on read: an open posting past 24:00 of its 截止日期, whether or not the job has run."""
    return posting.status == "open" and utc(now) >= posting.closes_at


def posting_status(posting, now=None):
    """The status a person sees: an open posting past its 截止日期 reads 已截止 (R16)."""
    return "closed" if posting_overdue(posting, now) else posting.status


def posting_open_clause(now=None):
    """SQL for 招聘中: open and not past its 截止日期 (R16)."""
    return and_(JobPosting.status == "open", JobPosting.closes_at > utc(now))


def version_of(agreement):
    """What the student read: changes whenever the offer is amended (R8)."""
    return agreement.updated_at.isoformat()


# ---------------------------------------------------------------- locks and the transaction

def locked(model, pk):
    """Re-read a row under SELECT … FOR UPDATE. SQLite has no row locks and pysqlite starts its
    transaction only at the first write, so there a no-op UPDATE takes the database's write lock
    first: a second writer waits (busy timeout) until this transaction ends, and every read after
    the lock sees what the first one committed — the same serialisation FOR UPDATE gives (R6)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(model).where(model.id == pk).values(id=model.id)
                           .execution_options(synchronize_session=False))
    return db.session.execute(
        select(model).where(model.id == pk).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def lock_student(student_id):
    return locked(Student, student_id)


def commit():
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def transition(func):
    """A refused rule leaves nothing behind: roll back (and release row locks) and re-raise."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
    return wrapper


# ---------------------------------------------------------------- FlowEvents and notices (R14)

def _current_user_id():
    if not has_request_context():
        return None
    from flask_login import current_user

    return getattr(current_user, "id", None) if current_user and current_user.is_authenticated else None


def _current_api_key_id():
    """The API key of this request (app/views/api.py sets g.api_key_id): the event says so."""
    if not has_request_context():
        return None
    from flask import g

    return g.get("api_key_id")


def event(actor_name, action, remark=None, now=None, **target):
    db.session.add(FlowEvent(
        actor_name=actor_name, action=action, remark=remark, user_id=_current_user_id(),
        api_key_id=_current_api_key_id(), created_at=utc(now), **target,
    ))


def reviewer_name(reviewer):
    school = db.session.get(School, reviewer.school_id)
    return f"{school.name}（{getattr(reviewer, 'first_name', '') or '审核老师'}）"


def party_name(party):
    return "学生本人" if isinstance(party, Student) else party.name


# Control characters (C0/C1, DEL), line and paragraph separators and the bidi overrides that
# reorder what a reader sees: never meant in a name or an address, and a CR/LF in a name ends up
# in a mail subject, where it breaks the header (the outbox then fails for good).
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def control_problem(value, label, multiline=False):
    """The refusal for a text that carries control characters, or None. A multi-line field
    (a reason in a textarea) may keep line breaks (\n, and \r of \r\n), nothing else."""
    import unicodedata

    for ch in value:
        if multiline and ch in "\r\n":
            continue
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            if multiline:
                return f"{label}中含有不可见的控制字符，请删除后重试"
            return f"{label}须为一行文字，不能含有换行或其他控制字符"
    return None


def reason_text(reason, empty_message, rule, max_len=500):
    """A required reason (decline, withdraw, refuse …): trimmed, present, not too long."""
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(empty_message, rule)
    if len(reason) > max_len:
        raise WorkflowError(f"原因不能超过{max_len}个字", rule)
    problem = control_problem(reason, "原因", multiline=True)
    if problem:
        raise WorkflowError(problem, rule)
    return reason


def notify_parties(agreement, subject, body, n, termination_id=None):
    """The student and (for an electronic agreement) the employer, each with a link to its page."""
    if termination_id is not None:
        student_link = f"/student/terminations/{termination_id}"
        employer_link = f"/employer/terminations/{termination_id}"
    elif agreement.kind == "paper":
        student_link, employer_link = "/student/paper", None
    else:
        student_link, employer_link = f"/student/offers/{agreement.id}", f"/employer/offers/{agreement.id}"
    notify(users_of(student_id=agreement.student_id), subject, body, link=student_link, now=n)
    if agreement.employer_id and agreement.kind == "electronic":
        notify(users_of(employer_id=agreement.employer_id), subject, body, link=employer_link, now=n)
