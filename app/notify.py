"""Outbox + in-app messages (R14). Rows are written inside the caller's transaction.

Mail delivery reads rows with `email_status = 'pending'`; until a mailer job exists the rows
wait there and each role's home page lists them as messages.
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


def notify(recipients, subject, body, link=None, now=None):
    """recipients: iterable of (user_id, email) pairs, e.g. from `users_of`."""
    created = now or utcnow()
    rows = [
        {"user_id": uid, "email": email, "subject": subject, "body": body, "link": link,
         "created_at": created, "email_status": "pending" if email else "none"}
        for uid, email in recipients
    ]
    if rows:
        db.session.execute(insert(Notification), rows)
    return len(rows)


def notify_many(rows):
    """Bulk form for set-based jobs: rows already carry user_id, email, subject, body …"""
    if rows:
        db.session.execute(insert(Notification), rows)
