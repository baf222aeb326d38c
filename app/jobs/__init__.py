"""rq jobs. Jobs take ids (or nothing), re-read state and are idempotent (STYLE.md).

The processes (README, docs/operations.md): the web app; workers (`rq worker --with-scheduler`)
on three queues — "mail" (the outbox sender), "default" (expiry, reminders, sweeps) and "bulk"
(imports, exports, purges), so mail never waits behind a province export; and exactly one cron
(`rq cron app/jobs/cron.py`). Work is enqueued only after the transaction that made it commits: a
JobRun is committed before its job is enqueued (app.jobs.runs), and the outbox sender is kicked by
the commit listener below (app.jobs.mail.kick), so a worker never reads rows that are not there
yet and a rolled-back action sends nothing.

Without REDIS_URL nothing needs a worker: jobs run inline right after the commit, an overdue
offer already reads as expired (R4, `workflow.effective_status`) and `expire_due_offers` only
makes the stored status, the FlowEvent and the notice catch up. With REDIS_URL set but Redis not
answering, actions still commit; the kick is logged and dropped, and the cron sweeps (outbox,
reminders, expiry) pick the work up when Redis is back.
"""
import logging
import os
from datetime import datetime, timedelta, timezone

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.notify import MAIL_PENDING

log = logging.getLogger(__name__)

# Seconds to wait for Redis before a web request gives up on enqueueing (a down Redis must not
# hang pages).
REDIS_CONNECT_TIMEOUT = 1.0
REDIS_SOCKET_TIMEOUT = 3.0

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

# Three queues, so mail never waits behind a province export (README: the worker commands).
QUEUE_SETTINGS = {"default": ("RQ_QUEUE", "default"), "mail": ("RQ_MAIL_QUEUE", "mail"),
                  "bulk": ("RQ_BULK_QUEUE", "bulk")}


def queue_name(kind="default", config=None):
    """The rq queue name of `kind`: "default" (expiry, reminders, sweeps), "mail" (the outbox
    sender) or "bulk" (imports, exports, file purges). From `config`, the app's, or the
    environment (the cron file has no app)."""
    from flask import current_app, has_app_context

    if config is None and has_app_context():
        config = current_app.config
    setting, fallback = QUEUE_SETTINGS[kind]
    return (config or {}).get(setting) or os.environ.get(setting) or fallback


def redis_connection(url=None):
    """A Redis client with short timeouts, or None without REDIS_URL."""
    from flask import current_app

    url = url or current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    return Redis.from_url(url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
                          socket_timeout=REDIS_SOCKET_TIMEOUT)


def get_queue(kind="default"):
    """The rq queue of `kind`, or None when the app runs without REDIS_URL (jobs run inline)."""
    from flask import current_app

    if current_app.config.get("JOBS_INLINE"):
        return None
    conn = redis_connection()
    if conn is None:
        return None
    from rq import Queue

    return Queue(queue_name(kind), connection=conn)


def job_is_dead(conn, job_id, now, silent_seconds):
    """Whether the rq job `job_id` will never finish: it failed, was stopped or canceled, Redis
    no longer has it, or it is started but its worker has not beaten for `silent_seconds` (a
    worker beats every few seconds while a job runs: app.jobs.worker)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        job = Job.fetch(job_id, connection=conn)
        status = job.get_status()
    except NoSuchJobError:
        return True
    if status in (None, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        return True
    beat = job.last_heartbeat or job.started_at
    return (status == JobStatus.STARTED and beat is not None
            and beat.replace(tzinfo=None) < now - timedelta(seconds=silent_seconds))


def enqueue(func_path, *args, queue="default", **options):
    """Enqueue now on the queue of kind `queue` (the caller has committed). Returns the rq Job,
    None when run inline, or raises redis.RedisError when Redis is configured but does not answer."""
    rq_queue = get_queue(queue)
    if rq_queue is None:
        _run_inline(func_path, args, options.get("kwargs"))
        return None
    from app.observability import job_meta

    options["meta"] = job_meta(options.get("meta"))  # the request's id, for the job's log lines
    return rq_queue.enqueue(func_path, *args, **options)


def _run_inline(func_path, args, kwargs=None):
    import importlib

    module_name, _, func_name = func_path.rpartition(".")
    func = getattr(importlib.import_module(module_name), func_name)
    return func(*args, **(kwargs or {}))


# ---------------------------------------------------------------- after commit

@event.listens_for(Session, "after_commit")
def _after_commit(session):
    app = session.info.pop(MAIL_PENDING, None)
    if app is not None:
        # The outbox has new mailable rows (app.notify): the sender runs now that they are committed.
        from .mail import kick

        kick(app)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    session.info.pop(MAIL_PENDING, None)


# ---------------------------------------------------------------- scheduled jobs (cron file)

def expire_due_offers(now_iso=None):
    """Mark overdue offers 已过期 (set-based, safe to run twice or concurrently). Returns the count.

    `workflow.expire_due` writes a FlowEvent per offer and notifies the employer (outbox)."""
    from app import workflow

    return in_app(workflow.expire_due, _now(now_iso))


def close_due_postings(now_iso=None):
    """Mark open job postings past their 截止日期 已截止 (R16; safe to run twice). Returns the count.

    Pages already read them as closed (`workflow.posting_status`); this makes the stored status,
    the FlowEvent and the employer's notice catch up."""
    from app import workflow

    return in_app(workflow.market.close_due, _now(now_iso))


def refresh_statistics():
    """The statistics summary catches up with its change log (app.summary). Returns (graduates
    recomputed, events counted)."""
    from app import summary

    return in_app(summary.refresh_all)


def send_reminders(now_iso=None):
    """Every reminder kind once (see app.jobs.reminders). Returns {kind: count}."""
    from . import reminders

    return in_app(reminders.send_all, _now(now_iso))


def send_outbox(limit=None, kicked=False):
    """Send every due outbox row (see app.jobs.mail). Returns the number sent. `kicked`: started
    by a commit's kick (`mail.kick`), whose marker is cleared first so later commits kick again;
    the cron sweep runs it every minute for retries and lost kicks."""
    from . import mail

    def run():
        if kicked:
            mail.kicked()
        return mail.deliver(limit=limit)

    return in_app(run)


def sweep_runs():
    """Mark JobRuns whose worker vanished as failed (see app.jobs.runs)."""
    from . import runs

    return in_app(runs.sweep_stale)
