"""Heavy work a user started (imports, exports), tracked in `JobRun` so a page can poll it.

    run = runs.start("roster_import", user_id, "app.jobs.imports.roster", {"file": key})

`start` commits a queued JobRun; with REDIS_URL it enqueues `execute_job(run_id, func_path)` on
rq *after* that commit, otherwise (or when Redis does not answer) it runs `execute` inline before
returning. The work function is given by its dotted path and is called as
`func(run, params, progress)`; `progress(done, total)` stores the count (committed, so the polling
page sees it); the return value (JSON-able) becomes `result`. An exception marks the run failed
with its message; the page (`JobRunView`, /jobs/run/<id>) shows it, the log has the traceback.

Faults: `execute` claims the run with a conditional UPDATE (queued → running), so a duplicate
delivery of the same rq job does nothing. A worker killed mid-run (SIGKILL, OOM, timeout) is
noticed by rq, which calls `on_rq_failure`: the run goes back to queued when rq will retry it
(`start(..., retries=n)`), else to failed with a reason. `sweep_stale` (cron) fails runs that
nobody will finish (their rq job is gone), so a page never spins forever.
"""
import importlib
import json
import logging
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import update

from ..extensions import db
from ..models import JobRun, utcnow

log = logging.getLogger(__name__)

JOB_TIMEOUT_DEFAULT = 3600
INTERRUPTED = "任务中断（后台工作进程退出或超时），请重新提交"
RETRYING = "后台工作进程中断，等待自动重试"


def start(kind, user_id, func_path, params=None, retries=0):
    run = JobRun(kind=kind, user_id=user_id, status="queued", done=0,
                 params=json.dumps(params or {}, ensure_ascii=False))
    db.session.add(run)
    db.session.commit()
    from . import get_queue

    try:
        queue = get_queue()
        if queue is not None:
            from rq import Callback, Retry

            from ..observability import job_meta

            job = queue.enqueue(
                "app.jobs.runs.execute_job", run.id, func_path,
                job_timeout=current_app.config.get("JOB_TIMEOUT", JOB_TIMEOUT_DEFAULT),
                on_failure=Callback(on_rq_failure), failure_ttl=7 * 24 * 3600,
                retry=Retry(max=retries, interval=60) if retries else None,
                description=f"{kind} #{run.id}", meta=job_meta(),  # the request's id, for the job's log lines
            )
            run.rq_job_id = job.id
            db.session.commit()
            return run
    except Exception as exc:  # Redis configured but down: do the work now rather than lose it
        from redis.exceptions import RedisError

        if not isinstance(exc, RedisError):
            raise
        db.session.rollback()
        log.warning("Redis unavailable; job run %s (%s) runs inline: %s", run.id, kind, exc)
    execute(run.id, func_path)
    return db.session.get(JobRun, run.id)


def execute_job(run_id, func_path):
    """rq entry point: builds the app when the worker has none."""
    from . import in_app

    return in_app(execute, run_id, func_path)


def _claim(run_id):
    won = db.session.execute(
        update(JobRun).where(JobRun.id == run_id, JobRun.status == "queued")
        .values(status="running", started_at=utcnow(), message=None)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    return won


def execute(run_id, func_path):
    if not _claim(run_id):
        return None  # idempotent: running elsewhere, or finished (a re-delivered job does nothing)
    run = db.session.get(JobRun, run_id, populate_existing=True)

    def progress(done, total=None):
        run.done = done
        if total is not None:
            run.total = total
        db.session.commit()

    module_name, _, func_name = func_path.rpartition(".")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        result = func(run, json.loads(run.params or "{}"), progress)
    except Exception as exc:  # the page shows what the user can act on; the traceback goes to the log
        db.session.rollback()
        ref = uuid.uuid4().hex[:8]
        current_app.logger.exception("job run %s failed (ref %s)", run_id, ref)
        _fail(run_id, user_message(exc, ref))
        return None
    run.status, run.finished_at = "done", utcnow()
    run.result = json.dumps(result, ensure_ascii=False, default=str) if result is not None else None
    db.session.commit()
    return result


def user_message(exc, ref):
    """What a failed run tells its user: the Chinese reason of a refusal the user can act on (a
    spreadsheet refused, a rule, an upload), never SQL or a traceback — anything else is a generic
    message with a reference the log carries."""
    from imports import ImportRefused

    from ..documents import RenderError
    from ..importing import ImportFailed
    from ..uploads import UploadError
    from ..workflow import WorkflowError

    if isinstance(exc, (ImportFailed, ImportRefused, UploadError)):
        return str(exc)[:500]
    if isinstance(exc, WorkflowError):
        return exc.message[:500]
    if isinstance(exc, RenderError):
        return RenderError.USER_MESSAGE
    return f"后台任务失败（参考编号 {ref}），请稍后重试；如多次失败，请联系管理员并提供参考编号。"


def _fail(run_id, message, statuses=("queued", "running")):
    db.session.execute(
        update(JobRun).where(JobRun.id == run_id, JobRun.status.in_(statuses))
        .values(status="failed", finished_at=utcnow(), message=message[:500])
        .execution_options(synchronize_session=False))
    db.session.commit()


def on_rq_failure(job, connection, exc_type, exc_value, tb):
    """rq failure callback: the work-horse died or timed out (`execute` catches everything else)."""
    from . import in_app

    run_id = job.args[0] if job.args else None
    if run_id is None:
        return
    will_retry = bool(job.retries_left)

    def record():
        if will_retry:
            db.session.execute(
                update(JobRun).where(JobRun.id == run_id, JobRun.status == "running")
                .values(status="queued", message=RETRYING).execution_options(synchronize_session=False))
            db.session.commit()
        else:
            _fail(run_id, INTERRUPTED)

    in_app(record)


def sweep_stale(now=None):
    """Fail runs nobody will finish: running past the job timeout (+10 min), or queued/running
    while their rq job is gone or failed. Returns the number failed."""
    now = now or utcnow()
    timeout = current_app.config.get("JOB_TIMEOUT", JOB_TIMEOUT_DEFAULT)
    failed = db.session.execute(
        update(JobRun).where(JobRun.status == "running",
                             JobRun.started_at < now - timedelta(seconds=timeout + 600))
        .values(status="failed", finished_at=now, message=INTERRUPTED)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    from . import redis_connection

    conn = redis_connection()
    if conn is None:
        return failed
    from rq.job import Job, JobStatus
    from rq.exceptions import NoSuchJobError

    open_runs = db.session.execute(
        JobRun.__table__.select().with_only_columns(JobRun.id, JobRun.rq_job_id)
        .where(JobRun.status.in_(("queued", "running")), JobRun.rq_job_id.is_not(None),
               JobRun.created_at < now - timedelta(minutes=10))).all()
    for run_id, job_id in open_runs:
        try:
            status = Job.fetch(job_id, connection=conn).get_status()
        except NoSuchJobError:
            status = None
        if status in (None, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            _fail(run_id, INTERRUPTED)
            failed += 1
    return failed
