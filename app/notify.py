"""Outbox + in-app messages (R14). Rows are written inside the caller's transaction.

A row with an address starts `email_status = 'pending'`; when MAIL_SERVER is set, writing one
schedules the outbox sender (`app.jobs.mail`) to run *after the caller's transaction commits*
(rq job, or inline without REDIS_URL). A rollback sends nothing; a Redis outage leaves the rows
pending for the cron sweep. Each role's home page lists the rows as messages either way.
"""
from sqlalchemy import insert, select

from .extensions import db
from .models import AppUser, Notification, utcnow


def users_of(*, student_id=None, employer_id=None, school_id=None):
    """Active logins of one party: (user id, email) pairs."""
    q = select(AppUser.id, AppUser.email).where(AppUser.active.is_(True))
    if student_id is not None:
        q = q.where(AppUser.student_id == student_id)
    elif employer_id is not None:
        q = q.where(AppUser.employer_id == employer_id)
    elif school_id is not None:
        q = q.where(AppUser.school_id == school_id)
    else:
        return []
    return db.session.execute(q).all()


SUBJECT_MAX = 200


def notify(recipients, subject, body, link=None, now=None):
    """recipients: iterable of (user_id, email) pairs, e.g. from `users_of`."""
    from .accounts import is_placeholder_email

    created = now or utcnow()
    rows = []
    for uid, email in recipients:
        # A roster login without a real address (…@noemail.invalid) gets the in-app message only.
        mailable = bool(email) and not is_placeholder_email(email)
        rows.append({"user_id": uid, "email": email if mailable else None, "subject": subject, "body": body,
                     "link": link, "created_at": created, "email_status": "pending" if mailable else "none"})
    notify_many(rows)
    return len(rows)


def notify_many(rows):
    """Bulk form for set-based jobs: rows already carry user_id, email, subject, body …"""
    for row in rows:  # subjects carry names (a 200-character 单位名称): keep within the column
        if len(row.get("subject") or "") > SUBJECT_MAX:
            row["subject"] = row["subject"][:SUBJECT_MAX - 1] + "…"
    if rows:
        db.session.execute(insert(Notification), rows)
        if any(r.get("email_status", "pending") == "pending" and r.get("email") for r in rows):
            from .jobs.mail import schedule_after_commit

            schedule_after_commit()
