"""The outbox (R14): in-app messages and the e-mail queue, written inside the caller's transaction.

This module alone decides who gets mail: a login's address is mailed unless it is empty or a
roster placeholder (…@noemail.invalid), in which case the row is in-app only (`email_status`
'none'). Every writer — the transitions, the expiry statement, the reminders — goes through
`notify`, `notify_rows` or `notify_from_select`, so the rule has one text in Python (`mailable`)
and its SQL twin (`mailable_status`).

The domain does not send anything: writing a mailable row marks the session, and `app.jobs`
(which listens for the commit) enqueues the outbox sender after the transaction commits. A
rollback sends nothing; a Redis outage leaves the rows pending for the cron sweep.
"""
from flask import current_app
from sqlalchemy import and_, case, insert, literal, not_, select

from .accounts import PLACEHOLDER_DOMAIN, is_placeholder_email
from .extensions import db
from .models import AppUser, Notification, utcnow

SUBJECT_MAX = 200
# session.info key: the app whose outbox has new mailable rows in this transaction (app.jobs reads it).
MAIL_PENDING = "app.notify.mail_pending"
_PARTY_COLUMN = {"student": AppUser.student_id, "employer": AppUser.employer_id, "school": AppUser.school_id}


def mailable(email):
    """Whether a login's address receives mail (the one rule)."""
    return bool(email) and not is_placeholder_email(email)


def mailable_status(email_column):
    """`mailable` in SQL: the email_status a new outbox row starts with."""
    return case((and_(email_column.isnot(None), email_column != "",
                      not_(email_column.endswith("@" + PLACEHOLDER_DOMAIN))), "pending"), else_="none")


def users_of(*, student_id=None, employer_id=None, school_id=None):
    """Active logins of one party: (user id, email) pairs."""
    for kind, party_id in (("student", student_id), ("employer", employer_id), ("school", school_id)):
        if party_id is not None:
            return recipients_of(kind, [party_id]).get(party_id, [])
    return []


def recipients_of(kind, ids):
    """{party id: [(user id, email)]} for the active logins of many students/employers/schools."""
    column = _PARTY_COLUMN[kind]
    ids = {i for i in ids if i is not None}
    out = {}
    if not ids:
        return out
    for uid, email, pid in db.session.execute(
            select(AppUser.id, AppUser.email, column).where(column.in_(ids), AppUser.active.is_(True))):
        out.setdefault(pid, []).append((uid, email))
    return out


def outbox_rows(recipients, subject, body, link=None, now=None):
    """The outbox rows of one message to `recipients` ((user id, email) pairs)."""
    created = now or utcnow()
    if len(subject or "") > SUBJECT_MAX:  # subjects carry names (a 200-character 单位名称)
        subject = subject[:SUBJECT_MAX - 1] + "…"
    return [{"user_id": uid, "email": email if mailable(email) else None, "subject": subject, "body": body,
             "link": link, "created_at": created, "email_status": "pending" if mailable(email) else "none"}
            for uid, email in recipients]


def notify(recipients, subject, body, link=None, now=None):
    """One message to `recipients`, e.g. from `users_of`. Returns the number of rows."""
    return notify_rows(outbox_rows(recipients, subject, body, link, now))


def notify_rows(rows):
    """Rows from `outbox_rows` (set-based jobs build many at once)."""
    if rows:
        db.session.execute(insert(Notification), rows)
        if any(r["email_status"] == "pending" for r in rows):
            _mail_pending()
    return len(rows)


def notify_from_select(messages, now):
    """INSERT … SELECT for set-based writers: `messages` is a select with the labelled columns
    `user_id`, `email`, `subject`, `body`, `link` (one row per login); the mail rule is applied
    in SQL. Returns the statement (PostgreSQL callers put it in a CTE); the caller runs it and
    calls `mark_mail_pending`."""
    messages = messages.subquery("messages")
    return insert(Notification).from_select(
        ["user_id", "email", "subject", "body", "link", "created_at", "email_status", "attempts"],
        select(messages.c.user_id,
               case((mailable_status(messages.c.email) == "pending", messages.c.email), else_=None),
               messages.c.subject, messages.c.body, messages.c.link, literal(now),
               mailable_status(messages.c.email), literal(0)))


def mark_mail_pending():
    """Rows were inserted set-based (`notify_from_select`): let the sender run after the commit."""
    _mail_pending()


def _mail_pending():
    db.session.info[MAIL_PENDING] = current_app._get_current_object()
