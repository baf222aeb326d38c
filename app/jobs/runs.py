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
from sqlalchemy import select, update

from .. import uploads
from ..extensions import db
from ..models import JobRun, utcnow

log = logging.getLogger(__name__)

JOB_TIMEOUT_DEFAULT = 3600
# A running job's worker beats every JOB_MONITORING_SECONDS (app.jobs.worker); silent this long = dead.
RUN_STALE_SECONDS_DEFAULT = 40
INTERRUPTED = "任务中断（后台工作进程退出或超时）：可在任务页面重新执行，或重新提交"
RETRYING = "后台工作进程中断，等待自动重试"


def start(kind, user_id, func_path, params=None, retries=0):
    run = JobRun(kind=kind, user_id=user_id, status="queued", done=0, job_func=func_path,
                 params=json.dumps(params or {}, ensure_ascii=False))
    db.session.add(run)
    db.session.commit()
    _submit(run, retries)
    db.session.expire_all()
    return db.session.get(JobRun, run.id)


def _submit(run, retries=0):
    """Enqueue a committed, queued run on the bulk queue; without Redis (or while it does not
    answer) do the work now rather than lose it."""
    from redis.exceptions import RedisError

    from . import enqueue

    run_id, func_path = run.id, run.job_func
    try:
        from rq import Callback, Retry

        job = enqueue(
            "app.jobs.runs.execute_job", run_id, func_path, queue="bulk",
            job_timeout=current_app.config.get("JOB_TIMEOUT", JOB_TIMEOUT_DEFAULT),
            on_failure=Callback(on_rq_failure), failure_ttl=7 * 24 * 3600,
            retry=Retry(max=retries, interval=60) if retries else None,
            description=f"{run.kind} #{run_id}",
        )
    except RedisError as exc:
        db.session.rollback()
        log.warning("Redis unavailable; job run %s (%s) runs inline: %s", run_id, run.kind, exc)
        execute(run_id, func_path)
        return
    if job is not None:  # None: it ran inline
        db.session.execute(update(JobRun).where(JobRun.id == run_id).values(rq_job_id=job.id))
        db.session.commit()


def rerun_refusal(run):
    """Why 重新执行 cannot run `run` again (a Chinese sentence), or None when it can."""
    if run.status != "failed":
        return "只有失败的任务可以重新执行"
    if not run.job_func:
        return "该任务缺少执行信息，请重新提交"
    key = json.loads(run.params or "{}").get("file")
    if key and not uploads.exists(key):
        return "上传的文件已在任务结束时删除（含个人信息，不保留），请重新上传后导入"
    return None


def rerun(run_id):
    """重新执行 a failed run: back to queued (progress and message cleared) and submitted again.
    Returns None when done, else the refusal (`rerun_refusal`)."""
    run = db.session.get(JobRun, run_id)
    refusal = "任务不存在" if run is None else rerun_refusal(run)
    if refusal:
        return refusal
    won = db.session.execute(
        update(JobRun).where(JobRun.id == run_id, JobRun.status == "failed")
        .values(status="queued", done=0, total=None, message=None, result=None, rq_job_id=None,
                started_at=None, finished_at=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    if not won:
        return "只有失败的任务可以重新执行"
    _submit(db.session.get(JobRun, run_id, populate_existing=True))
    return None


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
    """Runs nobody will finish (cron, every 20 s). Returns {"failed": n, "resubmitted": n}.

    - running past the job timeout (+10 min): failed;
    - running while its rq job failed, vanished, or its worker stopped heartbeating for
      RUN_STALE_SECONDS (the worker beats every JOB_MONITORING_SECONDS while a job runs, so a
      killed worker's run is failed within a minute): failed, 重新执行 offered;
    - queued for over a minute while its rq job is gone (Redis lost its data): submitted again,
      nothing lost.
    """
    now = now or utcnow()
    cfg = current_app.config
    timeout = cfg.get("JOB_TIMEOUT", JOB_TIMEOUT_DEFAULT)
    failed = db.session.execute(
        update(JobRun).where(JobRun.status == "running",
                             JobRun.started_at < now - timedelta(seconds=timeout + 600))
        .values(status="failed", finished_at=now, message=INTERRUPTED)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    resubmitted = 0
    from . import redis_connection

    conn = redis_connection()
    if conn is None:
        return {"failed": failed, "resubmitted": resubmitted}
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from . import job_is_dead

    silent = cfg.get("RUN_STALE_SECONDS", RUN_STALE_SECONDS_DEFAULT)
    open_runs = db.session.execute(
        select(JobRun.id, JobRun.status, JobRun.rq_job_id, JobRun.created_at)
        .where(JobRun.status.in_(("queued", "running")), JobRun.rq_job_id.is_not(None))).all()
    db.session.commit()
    for run_id, status, job_id, created_at in open_runs:
        if status == "queued":
            try:
                Job.fetch(job_id, connection=conn)
            except NoSuchJobError:
                if created_at < now - timedelta(minutes=1):
                    log.warning("job run %s lost its rq job %s: submitted again", run_id, job_id)
                    _submit(db.session.get(JobRun, run_id))
                    resubmitted += 1
            continue
        if job_is_dead(conn, job_id, now, silent):
            log.warning("job run %s: its worker is gone (rq job %s)", run_id, job_id)
            _fail(run_id, INTERRUPTED, statuses=("running",))
            failed += 1
    return {"failed": failed, "resubmitted": resubmitted}
