"""Reminders (beyond the manual), each sent once. They read rows and set only their own
`*_reminded_at` column plus outbox rows; no status ever changes here (that is app.workflow's).

- 邀约即将过期: a pending offer expiring within EXPIRY_REMINDER_HOURS → the student.
  (`Agreement.expiry_reminded_at`; an amended offer — new `updated_at` — may be reminded again.)
- 解约待处理: a termination `requested` for TERMINATION_REMINDER_DAYS days → the party it waits
  on, i.e. the side that did not ask (`Termination.reminded_at`).
- 待审核超时: the school, when a review has waited REVIEW_REMINDER_WORKDAYS working days:
  agreements `accepted` (since `accepted_at`), terminations `agreed` (since `agreed_at`),
  destinations `submitted` (since `created_at`) (`review_reminded_at` on each; a reminder older
  than the start of the current wait does not count, so an agreement amended and accepted again
  is reminded again).

"Once" holds under concurrency: each kind claims its rows with one UPDATE … WHERE
`<column> IS NULL` … RETURNING, which PostgreSQL re-checks after waiting on a row lock, so of
two concurrent runs each row is won by exactly one; rows another run holds locked are skipped
(FOR UPDATE SKIP LOCKED) and picked up next time. The claim, the outbox rows and the commit are
one transaction.

Working days are Monday–Friday in Asia/Shanghai; public holidays and 调休 are not modelled.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from .. import labels
from ..extensions import db
from ..models import Agreement, Destination, Student, Termination
from ..notify import notify_rows, outbox_rows, recipients_of
from ..workflow import utc


def workdays_before(now, days):
    """The instant `days` working days (Mon–Fri, Shanghai) before `now` (naive UTC in and out):
    something waiting since then or earlier has waited at least that many working days."""
    local = labels.local(now)
    counted = 0
    while counted < days:
        local -= timedelta(days=1)
        if local.weekday() < 5:
            counted += 1
    return utc(local)


def _mark(model, column, n, *where):
    """Claim matching rows (skip-locked), set `column`, return the RETURNING rows' ids."""
    claimable = (select(model.id).where(*where).order_by(model.id)
                 .with_for_update(skip_locked=True).correlate(None))
    return db.session.execute(
        update(model).where(model.id.in_(claimable), *where)
        .values({column: n}).returning(model.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()


def remind_expiring(now=None):
    n = utc(now)
    hours = current_app.config.get("EXPIRY_REMINDER_HOURS", 24)
    ids = _mark(Agreement, "expiry_reminded_at", n,
                Agreement.status == "pending", Agreement.expires_at > n,
                Agreement.expires_at <= n + timedelta(hours=hours),
                or_(Agreement.expiry_reminded_at.is_(None), Agreement.expiry_reminded_at < Agreement.updated_at))
    if not ids:
        return 0
    offers = db.session.execute(
        select(Agreement.id, Agreement.student_id, Agreement.employer_name, Agreement.position,
               Agreement.expires_at).where(Agreement.id.in_(ids))).all()
    logins = recipients_of("student", [o.student_id for o in offers])
    rows = []
    for o in offers:
        deadline = labels.fmt_datetime(o.expires_at)
        rows += outbox_rows(logins.get(o.student_id, []), "邀约即将过期",
                      f"{o.employer_name}发给你的“{o.position}”岗位邀约将于{deadline}截止应约，"
                      f"逾期未处理将自动过期。请及时应约或拒绝。", f"/student/offers/{o.id}", n)
    notify_rows(rows)
    return len(ids)


def remind_terminations(now=None):
    n = utc(now)
    days = current_app.config.get("TERMINATION_REMINDER_DAYS", 3)
    ids = _mark(Termination, "reminded_at", n,
                Termination.status == "requested", Termination.created_at <= n - timedelta(days=days),
                Termination.reminded_at.is_(None))
    if not ids:
        return 0
    items = db.session.execute(
        select(Termination.id, Termination.initiator, Termination.student_id, Termination.employer_id,
               Agreement.number, Agreement.employer_name, Student.name)
        .join(Agreement, Agreement.id == Termination.agreement_id)
        .join(Student, Student.id == Termination.student_id)
        .where(Termination.id.in_(ids))).all()
    students = recipients_of("student", [t.student_id for t in items if t.initiator != "student"])
    employers = recipients_of("employer", [t.employer_id for t in items if t.initiator == "student"])
    rows = []
    for t in items:
        if t.initiator == "student":  # waits on the employer
            rows += outbox_rows(employers.get(t.employer_id, []), f"待处理解约：{t.name}",
                          f"{t.name}于{days}天前申请解除编号 {t.number} 的就业协议，仍在等待贵单位处理。",
                          f"/employer/terminations/{t.id}", n)
        else:  # waits on the student
            rows += outbox_rows(students.get(t.student_id, []), f"待处理解约：{t.employer_name}",
                          f"{t.employer_name}于{days}天前提出解除编号 {t.number} 的就业协议，仍在等待你处理。",
                          f"/student/terminations/{t.id}", n)
    notify_rows(rows)
    return len(ids)


def remind_reviews(now=None):
    """The school, about agreements, terminations and destinations waiting for its review."""
    n = utc(now)
    days = current_app.config.get("REVIEW_REMINDER_WORKDAYS", 5)
    cutoff = workdays_before(n, days)
    agreements = _mark(Agreement, "review_reminded_at", n,
                       Agreement.status == "accepted", Agreement.accepted_at <= cutoff,
                       or_(Agreement.review_reminded_at.is_(None),
                           Agreement.review_reminded_at < Agreement.accepted_at))
    terminations = _mark(Termination, "review_reminded_at", n,
                         Termination.status == "agreed", Termination.agreed_at <= cutoff,
                         or_(Termination.review_reminded_at.is_(None),
                             Termination.review_reminded_at < Termination.agreed_at))
    destinations = _mark(Destination, "review_reminded_at", n,
                         Destination.status == "submitted", Destination.created_at <= cutoff,
                         Destination.review_reminded_at.is_(None))
    items = []
    if agreements:
        items += [(s, f"待审核超时：{name}与{emp}的协议书", f"/school/review/{i}", "签约") for i, s, name, emp in
                  db.session.execute(select(Agreement.id, Agreement.school_id, Student.name, Agreement.employer_name)
                                     .join(Student, Student.id == Agreement.student_id)
                                     .where(Agreement.id.in_(agreements)))]
    if terminations:
        items += [(s, f"待审核超时：{name}的解约申请", f"/school/terminations/{i}", "解约") for i, s, name in
                  db.session.execute(select(Termination.id, Termination.school_id, Student.name)
                                     .join(Student, Student.id == Termination.student_id)
                                     .where(Termination.id.in_(terminations)))]
    if destinations:
        items += [(s, f"待审核超时：{name}的其他去向", f"/school/destinations/{i}", "其他去向") for i, s, name in
                  db.session.execute(select(Destination.id, Destination.school_id, Student.name)
                                     .join(Student, Student.id == Destination.student_id)
                                     .where(Destination.id.in_(destinations)))]
    schools = recipients_of("school", [s for s, *_ in items])
    rows = []
    for school_id, subject, link, what in items:
        rows += outbox_rows(schools.get(school_id, []), subject,
                      f"该{what}申请已等待学校审核超过{days}个工作日，请尽快处理。", link, n)
    notify_rows(rows)
    return len(agreements) + len(terminations) + len(destinations)


def send_all(now=None):
    """All reminder kinds, each in its own transaction (one failing kind does not block the rest)."""
    out = {}
    for name, func in (("expiry", remind_expiring), ("termination", remind_terminations),
                       ("review", remind_reviews)):
        try:
            out[name] = func(now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return out
