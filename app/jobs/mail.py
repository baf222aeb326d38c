"""The outbox sender: `notification` rows with `email_status = 'pending'` go out through SMTP.

One sweeper, not one run per commit. A commit that wrote mailable rows *kicks* the sender
(`kick`): with Redis it enqueues `send_outbox` on the mail queue unless a kick is already waiting
(a Redis key, SET NX), so a burst of 3,000 invitations is one job, not 3,000; without Redis it runs
inline. The sender (`deliver`) loops: claim a batch of due rows, send it over one SMTP
connection, until nothing is due. The cron sweep (every minute) runs it too, so rows whose kick
was lost (Redis down at commit time) or whose retry time has come are never left behind.

Each row moves pending → sending → sent | failed, and is claimed by one sender with a
conditional UPDATE (`… WHERE email_status = 'pending'`, SKIP LOCKED on PostgreSQL) that commits
*before* any SMTP traffic, so two senders never send the same row. No database transaction is
open while the sender talks to the SMTP server: the claim returns plain values, and each status
change is its own short transaction (pgbouncer's transaction pooling holds).

Retries are by time, not by attempts of overlapping runs: a temporary failure (connection
refused, timeout, 4xx) sets `next_attempt_at` by MAIL_RETRY_BACKOFF (1 min, 5 min, 15 min, 1 h,
3 h, then every 6 h) and the row is `failed` only once retrying would pass `retry_until`, set at
its first failure to MAIL_GIVE_UP_HOURS (24) later. When the server cannot be reached at all the batch stops: the row being tried
counts an attempt, the rest go back untouched and wait as long, so an outage costs each row
at most one attempt per backoff step; those rows are marked `waits_for_server`, and each sweep
tests the server with one connection while any wait, so they go out within a minute of its
return rather than at their retry time. Permanent failures (5xx, a bad address) fail at once.

Digests: when more than MAIL_DIGEST_THRESHOLD rows of one sweep go to the same address (2,000
expiry notices to one employer), they go out as one mail listing them; each row is marked sent
with `sent_in` = the lead row's id.

A worker can die at any point (SIGKILL, OOM). What a left-over `sending` row means depends on
how far it got, which `sent_at` records: it is stamped (and committed) just before the message
is handed to the server (SMTP DATA), and `email_status` becomes `sent` right after the server's
250. So once its sender is known dead (the rq job in `claimed_by` failed, vanished or stopped
beating: within a minute) or the claim is older than MAIL_CLAIM_SECONDS:
- `sent_at` empty: the message never reached the server → back to pending, sent later;
- `sent_at` set: the server may have it → `failed` with a note, never re-sent automatically
  (nothing sent twice); 任务队列 shows it and 重新发送 puts it back by hand.
Every message carries a Message-ID made from the row id, so even a manual re-send is
recognisable as the same message to the receiving side.
"""
import email.policy
import logging
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr

from flask import current_app
from sqlalchemy import and_, func, or_, select, true, update

from ..extensions import db
from ..models import Notification, utcnow

log = logging.getLogger(__name__)

BATCH = 200
CLAIM_SECONDS_DEFAULT = 600
BACKOFF_DEFAULT = (60, 300, 900, 3600, 10800, 21600)
GIVE_UP_HOURS_DEFAULT = 24
DIGEST_THRESHOLD_DEFAULT = 3
DIGEST_LINES = 50
DIGEST_CLAIM_MAX = 10_000
# Redis key: a sender job is waiting in the mail queue (see `kick`); expires so a lost job is
# not waited for longer than this.
KICK_KEY = "outbox:kick:{queue}"
KICK_SECONDS = 30
UNCERTAIN = "发送过程中断，邮件可能已发出：为避免重复发送未自动重发，请核对后在任务队列页面重新发送"
GAVE_UP = "重试 {hours} 小时仍未发送成功，已停止重试；请检查邮件服务器后在任务队列页面重新发送"
REQUEUED = "发送中断（工作进程退出），已重新排队"


class ServerUnreachable(Exception):
    """The SMTP server cannot be reached: stop the batch, try again after the backoff."""


def backoff(attempts):
    """Seconds to wait after the `attempts`-th failed attempt (1-based)."""
    steps = current_app.config.get("MAIL_RETRY_BACKOFF") or BACKOFF_DEFAULT
    return steps[min(max(attempts, 1), len(steps)) - 1]


# ---------------------------------------------------------------- kicking the sender

def kick(app):
    """After a commit that wrote mailable rows: make sure a sender runs soon. Called by app.jobs'
    after-commit listener; never raises (the cron sweep catches up)."""
    if not app.config.get("MAIL_SERVER"):
        return  # rows stay pending and show in-app; nothing to send them with
    from . import enqueue, get_queue, queue_name

    with app.app_context():
        try:
            queue = get_queue("mail")
            if queue is not None and not queue.connection.set(
                    KICK_KEY.format(queue=queue.name), "1", nx=True, ex=KICK_SECONDS):
                return  # a sender is already waiting in the queue: it will see these rows too
            enqueue("app.jobs.send_outbox", queue="mail", kwargs={"kicked": queue is not None},
                    job_timeout=600, failure_ttl=7 * 24 * 3600, description="outbox sweep")
        except Exception as exc:  # noqa: BLE001 — Redis down (or an inline send failed): the commit stands
            log.warning("outbox sender not started (%s); the cron sweep sends within a minute: %s",
                        queue_name("mail", app.config), exc.__class__.__name__)
        finally:
            db.session.remove()


def kicked():
    """The sender started from a kick: later commits may kick again."""
    from . import get_queue

    try:
        queue = get_queue("mail")
        if queue is not None:
            queue.connection.delete(KICK_KEY.format(queue=queue.name))
    except Exception:  # noqa: BLE001 — the key expires by itself
        pass


def schedule_after_commit():
    """Send once the current transaction commits (e.g. after 重新发送 made rows pending again)."""
    from app.notify import mark_mail_pending

    mark_mail_pending()


# ---------------------------------------------------------------- SMTP

def _connect():
    cfg = current_app.config
    timeout = cfg.get("MAIL_TIMEOUT", 10)
    try:
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
    except (OSError, smtplib.SMTPException) as exc:
        raise ServerUnreachable(f"{exc.__class__.__name__}: {exc}") from exc
    return smtp


def _domain():
    return (current_app.config.get("MAIL_FROM") or "localhost").rpartition("@")[2] or "localhost"


def message_id(notification_id):
    return f"<notification-{notification_id}@{_domain()}>"


def digest_message_id(lead_id):
    return f"<digest-{lead_id}@{_domain()}>"


def _message(to, subject, body, msg_id):
    cfg = current_app.config
    # SMTP's policy: CRLF line ends and folded headers. `smtplib.SMTP.data` fixes line ends only
    # for str, and a strict server refuses bare LF (or reads a long mail as one over-long line).
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = subject
    msg["From"] = formataddr((cfg.get("APP_NAME") or "", cfg["MAIL_FROM"]))
    msg["To"] = to
    msg["Message-ID"] = msg_id
    msg.set_content(body + "\n\n（本邮件由系统自动发送，请勿回复。）")
    return msg


def _url(link):
    return current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/") + link


def build_message(row):
    """One row's mail (`row`: anything with id, email, subject, body, link)."""
    body = row.body + ("\n\n" + _url(row.link) if row.link else "")
    return _message(row.email, row.subject, body, message_id(row.id))


def build_digest(rows):
    """One mail for many rows to one address: their subjects, newest last, and where to read them."""
    lines = [f"您有 {len(rows)} 条新消息：", ""]
    for row in rows[:DIGEST_LINES]:
        lines.append(f"· {row.subject}")
    if len(rows) > DIGEST_LINES:
        lines.append(f"…… 等共 {len(rows)} 条")
    lines += ["", "请登录系统在“我的消息”中查看详情：" + _url("/messages/")]
    subject = f"您有 {len(rows)} 条新消息：{rows[0].subject}"
    if len(subject) > 200:
        subject = subject[:199] + "…"
    return _message(rows[0].email, subject, "\n".join(lines), digest_message_id(rows[0].id))


def _permanent(exc):
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, (ValueError, UnicodeError))


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
        except Exception:  # noqa: BLE001
            pass
    return None


# ---------------------------------------------------------------- claims (short transactions)

def due():
    """The SQL condition of a row the sender should try now."""
    return and_(Notification.email_status == "pending",
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= utcnow()))


def _sender_id():
    """The rq job this sender runs in, or None inline."""
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else None


def _dead_senders(now):
    """rq jobs holding claims that will never finish them (killed worker): their ids."""
    from . import job_is_dead, redis_connection

    holders = db.session.scalars(select(Notification.claimed_by).distinct().where(
        Notification.email_status == "sending", Notification.claimed_by.is_not(None))).all()
    db.session.commit()
    if not holders:
        return []
    try:
        conn = redis_connection()
        if conn is None:
            return []
        silent = current_app.config.get("RUN_STALE_SECONDS", 40)
        return [h for h in holders if h != _sender_id() and job_is_dead(conn, h, now, silent)]
    except Exception:  # noqa: BLE001 — Redis down: the claim timeout still resolves them
        return []


def recover_stale(now=None):
    """Resolve claims left by a dead sender (see the module doc): claims older than
    MAIL_CLAIM_SECONDS, and at once those of an rq job that is dead (its worker was killed).
    Returns (requeued, failed)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config.get("MAIL_CLAIM_SECONDS", CLAIM_SECONDS_DEFAULT))
    dead = _dead_senders(now)
    stale = and_(Notification.email_status == "sending",
                 or_(Notification.claimed_at < cutoff, Notification.claimed_by.in_(dead)) if dead
                 else Notification.claimed_at < cutoff)
    requeued = db.session.execute(
        update(Notification).where(stale, Notification.sent_at.is_(None))
        .values(email_status="pending", claimed_at=None, claimed_by=None, next_attempt_at=None,
                last_error=REQUEUED)
        .execution_options(synchronize_session=False)).rowcount
    failed = db.session.execute(
        update(Notification).where(stale, Notification.sent_at.is_not(None))
        .values(email_status="failed", last_error=UNCERTAIN)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return requeued, failed


def _claim(condition, limit):
    pick = select(Notification.id).where(due(), condition).order_by(Notification.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        # A materialized CTE runs once: as a plain IN (subquery) PostgreSQL may run it again per
        # row, and SKIP LOCKED then hands it the next rows past LIMIT (seen: 30 claimed of 7).
        pick = select(pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED").c.id)
    rows = db.session.execute(
        update(Notification)
        .where(Notification.id.in_(pick.scalar_subquery()), Notification.email_status == "pending")
        .values(email_status="sending", claimed_at=utcnow(), claimed_by=_sender_id(), sent_at=None)
        .returning(Notification.id, Notification.email, Notification.subject, Notification.body,
                   Notification.link, Notification.attempts, Notification.retry_until)
        .execution_options(synchronize_session=False)).all()
    db.session.commit()
    return rows


def claim_batch(limit=BATCH, ids=None):
    """pending (due) → sending for up to `limit` rows, oldest first, plus every other due row to
    the same addresses (so their notices can become one digest); returns the rows this caller won
    as plain values (id, email, subject, body, link, attempts, retry_until). Commits."""
    rows = _claim(Notification.id.in_(ids) if ids else true(), limit)
    if rows and not ids:
        addresses = sorted({r.email for r in rows})
        rows += _claim(Notification.email.in_(addresses), DIGEST_CLAIM_MAX)
    return sorted(rows, key=lambda r: r.id)


def claim(notification_id):
    """pending → sending for one row; True when this caller won it (tests, 重新发送 races)."""
    return bool(claim_batch(1, ids=[notification_id]))


def _set(ids, **values):
    """Change rows this sender holds (`sending`). Commits: one short transaction."""
    db.session.execute(
        update(Notification).where(Notification.id.in_(ids), Notification.email_status == "sending")
        .values(**values).execution_options(synchronize_session=False))
    db.session.commit()


def resume_after_outage():
    """Rows waiting only because the server could not be reached are due again as soon as it can
    be: one SMTP connection tests it (each sweep, only while such rows wait). Returns their number."""
    waiting = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.email_status == "pending", Notification.waits_for_server.is_(True),
        Notification.next_attempt_at > utcnow()))
    db.session.commit()
    if not waiting:
        return 0
    try:
        smtp = _connect()
    except ServerUnreachable:
        return 0
    _drop(smtp)
    count = db.session.execute(
        update(Notification).where(Notification.email_status == "pending", Notification.waits_for_server.is_(True))
        .values(next_attempt_at=None, waits_for_server=False)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    log.info("SMTP server reachable again: %s waiting mails due now", count)
    return count


def _failed_attempt(rows, exc, now):
    """One failed attempt for `rows` (one message). Returns the number left waiting for a retry."""
    reason = f"{exc.__class__.__name__}: {exc}"[:500]
    log.warning("mail %s to %s failed: %s", [r.id for r in rows], rows[0].email, reason)
    ids = [r.id for r in rows]
    attempts = max(r.attempts for r in rows) + 1
    if _permanent(exc):
        _set(ids, email_status="failed", attempts=Notification.attempts + 1, sent_at=None, last_error=reason)
        return 0
    hours = current_app.config.get("MAIL_GIVE_UP_HOURS", GIVE_UP_HOURS_DEFAULT)
    ends = [r.retry_until for r in rows if r.retry_until is not None]
    retry_until = min(ends) if ends else now + timedelta(hours=hours)
    retry_at = now + timedelta(seconds=backoff(attempts))
    if retry_at > retry_until:
        _set(ids, email_status="failed", attempts=Notification.attempts + 1, sent_at=None,
             last_error=(GAVE_UP.format(hours=hours) + "（" + reason + "）")[:500])
        return 0
    _set(ids, email_status="pending", attempts=Notification.attempts + 1, sent_at=None, claimed_at=None,
         next_attempt_at=retry_at, retry_until=retry_until, last_error=reason,
         waits_for_server=isinstance(exc, ServerUnreachable))
    return len(ids)


# ---------------------------------------------------------------- the sender

def _messages(rows):
    """Group a claimed batch into messages: [(rows, EmailMessage | exception)], a digest for an
    address with more than MAIL_DIGEST_THRESHOLD rows."""
    threshold = current_app.config.get("MAIL_DIGEST_THRESHOLD", DIGEST_THRESHOLD_DEFAULT)
    by_address = {}
    for row in rows:
        by_address.setdefault(row.email.lower(), []).append(row)
    out = []
    for group in by_address.values():
        parts = [group] if threshold and len(group) > threshold else [[row] for row in group]
        for part in parts:
            try:
                out.append((part, build_digest(part) if len(part) > 1 else build_message(part[0])))
            except Exception as exc:  # noqa: BLE001 — a row that cannot be a mail fails alone
                out.append((part, exc))
    return sorted(out, key=lambda item: item[0][0].id)


def deliver(ids=None, limit=None, max_seconds=300):
    """Send due rows (all, or those in `ids`) until none is due, the server is unreachable or
    `max_seconds` have passed (then it kicks itself again). Returns the number of rows sent."""
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        return 0
    recover_stale()
    resume_after_outage()
    started = utcnow()
    sent = 0
    while True:
        rows = claim_batch(limit or cfg.get("MAIL_BATCH", BATCH), ids)
        if not rows:
            return sent
        done, reachable = _send_batch(rows)
        sent += done
        if not reachable or ids:
            return sent
        if (utcnow() - started).total_seconds() > max_seconds:
            schedule_after_commit()  # more is due: the next kick goes on after this job
            db.session.commit()
            return sent


def _send_batch(rows):
    """Send one claimed batch over one connection. Returns (rows sent, server reachable)."""
    cfg = current_app.config
    messages = _messages(rows)
    sent, smtp = 0, None
    try:
        for index, (part, msg) in enumerate(messages):
            ids = [r.id for r in part]
            now = utcnow()
            if isinstance(msg, Exception):
                _failed_attempt(part, msg, now)
                continue
            try:
                if smtp is None:
                    smtp = _connect()
                _envelope(smtp, cfg["MAIL_FROM"], part[0].email)  # nothing handed over yet
            except ServerUnreachable as exc:
                _failed_attempt(part, exc, now)
                # Everything else waits as long, without an attempt counted against it.
                later = [r for p, _ in messages[index + 1:] for r in p]
                if later:
                    _set([r.id for r in later], email_status="pending", claimed_at=None,
                         next_attempt_at=now + timedelta(seconds=backoff(1)), waits_for_server=True)
                return sent, False
            except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
                smtp = _reset(smtp)  # refused by the server (4xx/5xx): the session goes on
                _failed_attempt(part, exc, now)
                continue
            except Exception as exc:  # noqa: BLE001 — the line dropped (SMTPServerDisconnected, OSError)
                smtp = _drop(smtp)
                _failed_attempt(part, exc, now)
                continue
            # From here the server may end up with the message: stamp it before DATA.
            _set(ids, sent_at=now)
            try:
                code, reply = smtp.data(msg.as_bytes())
                if code != 250:
                    raise smtplib.SMTPDataError(code, reply)
            except smtplib.SMTPResponseException as exc:
                # The server answered no: definitely not delivered.
                smtp = _reset(smtp)
                _failed_attempt(part, exc, now)
                continue
            except Exception as exc:  # noqa: BLE001
                # The line dropped before the server's answer: it may have the message.
                smtp = _drop(smtp)
                log.warning("mail %s: no answer to DATA (%s); not re-sent automatically", ids, exc)
                _set(ids, email_status="failed", attempts=Notification.attempts + 1, last_error=UNCERTAIN)
                continue
            _set(ids, email_status="sent", sent_at=utcnow(), attempts=Notification.attempts + 1,
                 last_error=None, next_attempt_at=None, waits_for_server=False,
                 sent_in=ids[0] if len(ids) > 1 else None)
            sent += len(ids)
    except BaseException:
        # Anything unexpected (a database error, the job's timeout): rows not yet tried go back.
        db.session.rollback()
        _release_unfinished([r.id for r in rows])
        raise
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except Exception:  # noqa: BLE001
                pass
    return sent, True


def _reset(smtp):
    """After a refusal the session continues with RSET (one connection per batch)."""
    try:
        smtp.rset()
        return smtp
    except Exception:  # noqa: BLE001
        return _drop(smtp)


def _release_unfinished(ids):
    """Rows of this batch still `sending` without `sent_at` were never handed over: pending again."""
    try:
        db.session.execute(
            update(Notification).where(Notification.id.in_(ids), Notification.email_status == "sending",
                                       Notification.sent_at.is_(None))
            .values(email_status="pending", claimed_at=None).execution_options(synchronize_session=False))
        db.session.commit()
    except Exception:  # noqa: BLE001 — the claim timeout resolves them (recover_stale)
        db.session.rollback()


# ---------------------------------------------------------------- 任务队列: counts and 重新发送

def outbox_counts():
    counts = dict(db.session.execute(
        select(Notification.email_status, func.count()).group_by(Notification.email_status)).all())
    counts["waiting"] = db.session.scalar(
        select(func.count()).select_from(Notification).where(
            Notification.email_status == "pending", Notification.next_attempt_at > utcnow()))
    return counts


def failed_filter(since=None, until=None, error=None, email=None):
    """The SQL condition of 重新发送's filter over failed rows (all of them when nothing is given)."""
    cond = [Notification.email_status == "failed"]
    if since is not None:
        cond.append(Notification.created_at >= since)
    if until is not None:
        cond.append(Notification.created_at < until)
    if error:
        cond.append(Notification.last_error.contains(error, autoescape=True))
    if email:
        cond.append(Notification.email.contains(email, autoescape=True))
    return and_(*cond)


def retry_failed(notification_id=None, **filters):
    """重新发送: one failed row, or every failed row matching `failed_filter(**filters)`, back to
    pending (attempts and the 24-hour clock start again). Returns the number requeued."""
    cond = (and_(Notification.id == notification_id, Notification.email_status == "failed")
            if notification_id is not None else failed_filter(**filters))
    count = db.session.execute(
        update(Notification).where(cond)
        .values(email_status="pending", attempts=0, claimed_at=None, sent_at=None, next_attempt_at=None,
                retry_until=None, waits_for_server=False, last_error=None)
        .execution_options(synchronize_session=False)).rowcount
    if count:
        schedule_after_commit()
    db.session.commit()
    return count
