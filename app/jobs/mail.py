"""The outbox sender: `notification` rows with `email_status = 'pending'` go out through SMTP.

Each row moves pending → sending → sent | failed, and is claimed by one sender with a
conditional UPDATE (`… WHERE id = :id AND email_status = 'pending'`) that commits *before* any
SMTP traffic, so two workers (or a job and the cron sweep) never send the same row.

A worker can die at any point (SIGKILL, OOM). What a left-over `sending` row means depends on
how far it got, which `sent_at` records: it is stamped (and committed) just before the message
is handed to the server (SMTP DATA), and `email_status` becomes `sent` right after the server's
250. So once the claim is older than MAIL_CLAIM_SECONDS:
- `sent_at` empty: the message never reached the server → back to pending, sent later
  (nothing lost);
- `sent_at` set: the server may have it → `failed` with a note, never re-sent automatically
  (nothing sent twice); the queue page (任务队列) shows it and 重新发送 puts it back by hand.
Every message carries a Message-ID made from the row id, so even a manual re-send is
recognisable as the same message to the receiving side.

Temporary failures (connection refused, 4xx) put the row back to pending until
MAIL_MAX_ATTEMPTS, then `failed`; permanent ones (5xx, bad address) fail at once. A temporary
failure makes the job raise, so rq retries it (`RETRY`, needs `rq worker --with-scheduler`);
the cron sweep (every minute) picks up anything left.
"""
import logging
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr

from flask import current_app
from sqlalchemy import and_, func, select, update

from ..extensions import db
from ..models import Notification, utcnow

log = logging.getLogger(__name__)

BATCH = 200
CLAIM_SECONDS_DEFAULT = 600
UNCERTAIN = "发送过程中断，邮件可能已发出：为避免重复发送未自动重发，请核对后在任务队列页面重新发送"


def retry_policy():
    from rq import Retry

    intervals = current_app.config.get("MAIL_RETRY_INTERVALS") or [10, 60, 300]
    return Retry(max=3, interval=intervals)


class TemporaryMailError(Exception):
    """Some rows hit a temporary SMTP failure and wait for the next attempt (rq retries)."""


def SEND_OPTIONS():  # noqa: N802 (read as a constant; built per call: Retry objects are not shared)
    """rq options of the outbox sender job."""
    return {"retry": retry_policy(), "job_timeout": 600, "failure_ttl": 7 * 24 * 3600}


def schedule_after_commit():
    """Send once the current transaction commits (e.g. after 重新发送 made a row pending again).
    Without MAIL_SERVER rows stay pending and show in-app; nothing to send them with."""
    if not current_app.config.get("MAIL_SERVER"):
        return
    from . import enqueue_after_commit

    enqueue_after_commit("app.jobs.send_outbox", dedupe=True, **SEND_OPTIONS())


# ---------------------------------------------------------------- SMTP

def _connect():
    cfg = current_app.config
    timeout = cfg.get("MAIL_TIMEOUT", 30)
    if cfg.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout)
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
    smtp.ehlo_or_helo_if_needed()
    if cfg.get("MAIL_USERNAME"):
        smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
    return smtp


def message_id(notification_id):
    domain = (current_app.config.get("MAIL_FROM") or "localhost").rpartition("@")[2] or "localhost"
    return f"<notification-{notification_id}@{domain}>"


def build_message(row):
    cfg = current_app.config
    msg = EmailMessage()
    msg["Subject"] = row.subject
    msg["From"] = formataddr((cfg.get("APP_NAME") or "", cfg["MAIL_FROM"]))
    msg["To"] = row.email
    msg["Message-ID"] = message_id(row.id)
    body = row.body
    if row.link:
        body += "\n\n" + cfg.get("PUBLIC_BASE_URL", "").rstrip("/") + row.link
    body += "\n\n（本邮件由系统自动发送，请勿回复。）"
    msg.set_content(body)
    return msg


def _permanent(exc):
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, (ValueError, UnicodeError))


# ---------------------------------------------------------------- the job

def recover_stale(now=None):
    """Resolve claims left by a dead worker (see the module doc). Returns (requeued, failed)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config.get("MAIL_CLAIM_SECONDS", CLAIM_SECONDS_DEFAULT))
    stale = and_(Notification.email_status == "sending", Notification.claimed_at < cutoff)
    requeued = db.session.execute(
        update(Notification).where(stale, Notification.sent_at.is_(None))
        .values(email_status="pending", claimed_at=None, last_error="发送中断（工作进程退出），已重新排队")
        .execution_options(synchronize_session=False)).rowcount
    failed = db.session.execute(
        update(Notification).where(stale, Notification.sent_at.is_not(None))
        .values(email_status="failed", last_error=UNCERTAIN)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return requeued, failed


def claim(notification_id, now=None):
    """pending → sending for one row; True when this caller won it. Commits."""
    won = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.email_status == "pending")
        .values(email_status="sending", claimed_at=now or utcnow(), sent_at=None,
                attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    return won


def _finish(notification_id, **values):
    db.session.execute(
        update(Notification).where(Notification.id == notification_id, Notification.email_status == "sending")
        .values(**values).execution_options(synchronize_session=False))
    db.session.commit()


def deliver(ids=None, limit=None, raise_temporary=True):
    """Send pending rows (all, or those in `ids`), oldest first. Returns the number sent.
    Raises TemporaryMailError when some rows must wait for a retry."""
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        return 0
    recover_stale()
    max_attempts = cfg.get("MAIL_MAX_ATTEMPTS", 5)
    query = (select(Notification.id).where(Notification.email_status == "pending")
             .order_by(Notification.id).limit(limit or BATCH))
    if ids:
        query = query.where(Notification.id.in_(ids))
    candidates = db.session.scalars(query).all()
    db.session.commit()

    sent, waiting = 0, 0
    smtp = None
    try:
        for nid in candidates:
            if not claim(nid):
                continue  # another sender has it
            row = db.session.get(Notification, nid, populate_existing=True)
            try:
                msg = build_message(row)
                if smtp is None:
                    smtp = _connect()
                _envelope(smtp, cfg["MAIL_FROM"], row.email)  # nothing handed over yet
            except Exception as exc:
                smtp = _drop(smtp)
                waiting += _failed_attempt(row, exc, max_attempts)
                continue
            # From here the server may end up with the message: stamp it before DATA.
            _finish(nid, sent_at=utcnow())
            try:
                code, reply = smtp.data(msg.as_bytes())
                if code != 250:
                    raise smtplib.SMTPDataError(code, reply)
            except smtplib.SMTPResponseException as exc:
                # The server answered no: definitely not delivered.
                smtp = _drop(smtp)
                waiting += _failed_attempt(row, exc, max_attempts, clear_sent=True)
                continue
            except Exception as exc:
                # The line dropped before the server's answer: it may have the message.
                smtp = _drop(smtp)
                log.warning("mail %s: no answer to DATA (%s); not re-sent automatically", nid, exc)
                _finish(nid, email_status="failed", last_error=UNCERTAIN)
                continue
            _finish(nid, email_status="sent", sent_at=utcnow(), last_error=None)
            sent += 1
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except Exception:
                pass
    if waiting and raise_temporary:
        raise TemporaryMailError(f"{waiting} 封邮件暂时发送失败，等待重试")
    return sent


def _envelope(smtp, sender, recipient):
    code, reply = smtp.mail(sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = smtp.rcpt(recipient)
    if code not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})


def _drop(smtp):
    if smtp is not None:
        try:
            smtp.close()
        except Exception:
            pass
    return None


def _failed_attempt(row, exc, max_attempts, clear_sent=False):
    """Record one failed attempt; returns 1 when the row waits for another try."""
    reason = f"{exc.__class__.__name__}: {exc}"[:500]
    log.warning("mail %s to %s failed: %s", row.id, row.email, reason)
    values = {"last_error": reason}
    if clear_sent:
        values["sent_at"] = None
    if _permanent(exc) or row.attempts >= max_attempts:
        _finish(row.id, email_status="failed", **values)
        return 0
    _finish(row.id, email_status="pending", claimed_at=None, **values)
    return 1


# ---------------------------------------------------------------- admin actions

def outbox_counts():
    return dict(db.session.execute(
        select(Notification.email_status, func.count()).group_by(Notification.email_status)).all())


def retry_failed(notification_id):
    """重新发送 one failed row (the queue page). True when it was failed and is pending again."""
    done = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.email_status == "failed")
        .values(email_status="pending", attempts=0, claimed_at=None, sent_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if done:
        schedule_after_commit()
    db.session.commit()
    return done
