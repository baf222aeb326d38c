"""The worker class `make worker` runs: `rq worker --with-scheduler --worker-class app.jobs.worker.AppWorker`.

Two things rq's own Worker does not do:
- builds the Flask app once in the parent, so each forked work-horse inherits it instead of
  rebuilding it (~0.7 s a job, STACK-NOTES); the pooled DB connections are dropped in the child
  (`app.jobs._dispose_pool_in_child`);
- calls the job's failure callback when the work-horse is killed (SIGKILL, OOM): rq 3 moves the
  job to the failed registry (or retries it) without calling `on_failure` then, and a JobRun
  would show 进行中 until the cron sweep caught it.
"""
import logging

from rq import Worker

log = logging.getLogger(__name__)


class WorkHorseKilled(Exception):
    """The work-horse process died before the job finished."""


class AppWorker(Worker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from . import _app

        _app()  # build once, before any fork

    def execute_job(self, job, queue):
        # Here in the worker process, around the fork: the job's log lines (the work-horse inherits
        # the context) carry its id and its request's; the duration goes to one metrics file per
        # worker, not one per work-horse (app/observability.py).
        from app.observability import job_scope

        with job_scope(job):
            super().execute_job(job, queue)

    def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        callback = job.failure_callback
        if callback is None:
            return
        exc = WorkHorseKilled(f"work-horse {retpid} ended with status {ret_val}")
        try:
            callback(job, self.connection, WorkHorseKilled, exc, None)
        except Exception:
            log.exception("failure callback of job %s raised", job.id)
