"""Heavy work a user started (imports, exports), tracked in `JobRun` so a page can poll it.

    run = runs.start("roster_import", user_id, "app.jobs.imports.roster", {"file": key})

`start` commits a queued JobRun; with REDIS_URL it enqueues `execute(run_id)` on rq *after* that
commit, otherwise it runs `execute` inline before returning. The work function is given by its
dotted path and is called as `func(run, params, progress)`; `progress(done, total)` stores the
count (committed, so the polling page sees it); the return value (JSON-able) becomes `result`.
An exception marks the run failed with its message; the page shows it.
"""
import importlib
import json

from flask import current_app

from ..extensions import db
from ..models import JobRun, utcnow


def start(kind, user_id, func_path, params=None):
    run = JobRun(kind=kind, user_id=user_id, status="queued", params=json.dumps(params or {}, ensure_ascii=False))
    db.session.add(run)
    db.session.commit()
    if current_app.config.get("REDIS_URL") and not current_app.config.get("JOBS_INLINE"):
        from redis import Redis
        from rq import Queue

        queue = Queue("default", connection=Redis.from_url(current_app.config["REDIS_URL"]))
        job = queue.enqueue("app.jobs.runs.execute_job", run.id, func_path, job_timeout=3600)
        run.rq_job_id = job.id
        db.session.commit()
    else:
        execute(run.id, func_path)
    return run


def execute_job(run_id, func_path):
    """rq entry point: builds the app when the worker has none."""
    from . import _app

    app = _app()
    if app is None:
        return execute(run_id, func_path)
    with app.app_context():
        return execute(run_id, func_path)


def execute(run_id, func_path):
    run = db.session.get(JobRun, run_id)
    if run is None or run.status in ("done", "failed"):
        return None  # idempotent: a retried job does not redo finished work
    run.status, run.started_at = "running", utcnow()
    db.session.commit()

    def progress(done, total=None):
        run.done = done
        if total is not None:
            run.total = total
        db.session.commit()

    module_name, _, func_name = func_path.rpartition(".")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        result = func(run, json.loads(run.params or "{}"), progress)
    except Exception as exc:  # the page shows the reason; the traceback goes to the log
        db.session.rollback()
        current_app.logger.exception("job run %s failed", run_id)
        run = db.session.get(JobRun, run_id)
        run.status, run.finished_at = "failed", utcnow()
        run.message = (str(exc) or exc.__class__.__name__)[:500]
        db.session.commit()
        return None
    run.status, run.finished_at = "done", utcnow()
    run.result = json.dumps(result, ensure_ascii=False, default=str) if result is not None else None
    db.session.commit()
    return result
