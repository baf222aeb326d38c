"""rq jobs. Jobs take ids (or nothing), re-read state and are idempotent (STYLE.md).

Three processes run the system (README): the web app, `make worker` (`rq worker --with-scheduler`)
and exactly one `make cron` (`rq cron app/jobs/cron.py`; rq's cron has no lock). Work is
enqueued only after the transaction that made it commits (`enqueue_after_commit`), so a worker
never reads rows that are not there yet, and a rolled-back action enqueues nothing.

Without REDIS_URL nothing needs a worker: `enqueue_after_commit` runs the job inline right after
the commit, an overdue offer already reads as expired (R4, `workflow.effective_status`) and
`expire_due_offers` only makes the stored status, the FlowEvent and the notice catch up.
With REDIS_URL set but Redis not answering, actions still commit; the enqueue is logged and
dropped, and the cron sweeps (outbox, reminders, expiry) pick the work up when Redis is back.
"""
import logging
import os
from datetime import datetime, timezone

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.notify import MAIL_PENDING

log = logging.getLogger(__name__)

# Seconds to wait for Redis before a web request gives up on enqueueing (a down Redis must not
# hang pages).
REDIS_CONNECT_TIMEOUT = 1.0
REDIS_SOCKET_TIMEOUT = 3.0
_PENDING = "app.jobs.after_commit"

_worker_app = None


# ---------------------------------------------------------------- app context for workers

def _app():
    """The Flask app a worker job runs in: None inside an app context (inline run, tests), else
    one app per process (built once, so a SimpleWorker or a preloaded worker pays it once)."""
    global _worker_app
    from flask import has_app_context

    if has_app_context():
        return None
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app()
        # A forking worker's work-horse must not reuse the parent's pooled DB connections.
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_dispose_pool_in_child)
    return _worker_app


def _dispose_pool_in_child():
    if _worker_app is None:
        return
    from app.extensions import db

    with _worker_app.app_context():
        db.engine.dispose(close=False)


def in_app(func, *args, **kwargs):
    """Run `func` inside the app context (the worker's own app when there is none)."""
    app = _app()
    if app is None:
        return func(*args, **kwargs)
    with app.app_context():
        try:
            return func(*args, **kwargs)
        finally:
            from app.extensions import db

            db.session.remove()


def _now(now_iso):
    if now_iso is None:
        return datetime.now(timezone.utc)
    if isinstance(now_iso, datetime):
        return now_iso
    return datetime.fromisoformat(now_iso)


# ---------------------------------------------------------------- Redis and queues

def queue_name(app=None):
    from flask import current_app

    app = app or current_app
    return app.config.get("RQ_QUEUE") or os.environ.get("RQ_QUEUE") or "default"


def redis_connection(url=None):
    """A Redis client with short timeouts, or None without REDIS_URL."""
    from flask import current_app

    url = url or current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    return Redis.from_url(url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
                          socket_timeout=REDIS_SOCKET_TIMEOUT)


def get_queue(name=None):
    """The rq queue, or None when the app runs without REDIS_URL (jobs then run inline)."""
    from flask import current_app

    if current_app.config.get("JOBS_INLINE"):
        return None
    conn = redis_connection()
    if conn is None:
        return None
    from rq import Queue

    return Queue(name or queue_name(), connection=conn)


def enqueue(func_path, *args, **options):
    """Enqueue now (the caller has committed). Returns the rq Job, None when run inline, or raises
    redis.RedisError when Redis is configured but does not answer."""
    queue = get_queue()
    if queue is None:
        _run_inline(func_path, args)
        return None
    from app.observability import job_meta

    options["meta"] = job_meta(options.get("meta"))  # the request's id, for the job's log lines
    return queue.enqueue(func_path, *args, **options)


def _run_inline(func_path, args):
    import importlib

    module_name, _, func_name = func_path.rpartition(".")
    func = getattr(importlib.import_module(module_name), func_name)
    return func(*args)


# ---------------------------------------------------------------- enqueue after commit

def enqueue_after_commit(func_path, *args, dedupe=False, **options):
    """Enqueue `func_path(*args)` once the current transaction commits; nothing on rollback.

    `dedupe`: enqueue at most once per transaction (a sweep job such as the outbox sender)."""
    from flask import current_app

    from app.extensions import db

    session = db.session()
    pending = session.info.setdefault(_PENDING, [])
    if dedupe and any(p[0] == func_path and p[1] == args for p in pending):
        return
    pending.append((func_path, args, options, current_app._get_current_object()))


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    pending = session.info.pop(_PENDING, None)
    for func_path, args, options, app in pending or ():
        _dispatch(app, func_path, args, options)
    app = session.info.pop(MAIL_PENDING, None)
    if app is not None and app.config.get("MAIL_SERVER"):
        # The outbox has new mailable rows (app.notify): send them now that they are committed.
        from .mail import SEND_OPTIONS

        _dispatch(app, "app.jobs.send_outbox", (), SEND_OPTIONS())


@event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    session.info.pop(_PENDING, None)
    session.info.pop(MAIL_PENDING, None)


def _dispatch(app, func_path, args, options):
    """Called after a commit: the session cannot run SQL here, so an inline job gets its own app
    context (Flask-SQLAlchemy scopes `db.session` per app context: a fresh session)."""
    with app.app_context():
        try:
            enqueue(func_path, *args, **options)
        except Exception as exc:  # Redis down (or an inline job failed): the action stays committed
            from redis.exceptions import RedisError

            if isinstance(exc, RedisError):
                log.warning("Redis unavailable, %s not enqueued (the cron sweep will catch up): %s",
                            func_path, exc)
            else:
                log.exception("inline job %s failed", func_path)
        finally:
            from app.extensions import db

            db.session.remove()


# ---------------------------------------------------------------- scheduled jobs (cron file)

def expire_due_offers(now_iso=None):
    """Mark overdue offers 已过期 (set-based, safe to run twice or concurrently). Returns the count.

    `workflow.expire_due` writes a FlowEvent per offer and notifies the employer (outbox)."""
    from app import workflow

    return in_app(workflow.expire_due, _now(now_iso))


def send_reminders(now_iso=None):
    """Every reminder kind once (see app.jobs.reminders). Returns {kind: count}."""
    from . import reminders

    return in_app(reminders.send_all, _now(now_iso))


def send_outbox(limit=None, retry=True):
    """Send pending outbox mail (see app.jobs.mail). Returns the number sent. With `retry`, a
    temporary SMTP failure raises so rq's Retry runs the job again; the cron sweep passes False
    (it comes back every minute anyway) and returns the count."""
    from . import mail

    return in_app(mail.deliver, limit=limit, raise_temporary=retry)


def sweep_runs():
    """Mark JobRuns whose worker vanished as failed (see app.jobs.runs)."""
    from . import runs

    return in_app(runs.sweep_stale)
