"""The worker class every worker runs: `rq worker --worker-class app.jobs.worker.AppWorker <queues>`.

What it changes in rq's own Worker:
- it always runs with its scheduler (`--with-scheduler` or not), and retries the scheduler's lock
  every MAINTENANCE_SECONDS instead of every 10 minutes: a worker restarted after a SIGKILL takes
  the lock over as soon as the dead one's expires (rq: 61 s);
- it beats often enough to be watched: every WORKER_TTL - 15 s while idle, every
  JOB_MONITORING_SECONDS while a job runs (so app.jobs.runs.sweep_stale fails a dead worker's run
  within a minute, and /readyz and 任务队列 see a silent worker), and registers again when a beat
  finds that Redis came back empty;
- builds the Flask app once in the parent, so each forked work-horse inherits it instead of
  rebuilding it (~0.7 s a job, STACK-NOTES); the pooled DB connections are dropped in the child
  (`app.jobs._dispose_pool_in_child`);
- calls the job's failure callback when the work-horse is killed (SIGKILL, OOM): rq 3 moves the
  job to the failed registry (or retries it) without calling `on_failure` then, and a JobRun
  would show 进行中 until the cron sweep caught it.
"""
import logging

from rq import Worker, defaults, worker_registration

log = logging.getLogger(__name__)


class WorkHorseKilled(Exception):
    """The work-horse process died before the job finished."""


WORKER_TTL = 60
JOB_MONITORING_SECONDS = 10
MAINTENANCE_SECONDS = 30


class AppWorker(Worker):
    def __init__(self, *args, **kwargs):
        # rq's command line passes rq's defaults explicitly: ours replace them unless told otherwise.
        for name, rq_default, ours in (("worker_ttl", defaults.DEFAULT_WORKER_TTL, WORKER_TTL),
                                       ("job_monitoring_interval", defaults.DEFAULT_JOB_MONITORING_INTERVAL,
                                        JOB_MONITORING_SECONDS),
                                       ("maintenance_interval", defaults.DEFAULT_MAINTENANCE_TASK_INTERVAL,
                                        MAINTENANCE_SECONDS)):
            if kwargs.get(name) in (None, rq_default):
                kwargs[name] = ours
        kwargs.pop("default_worker_ttl", None)  # deprecated twin of worker_ttl
        super().__init__(*args, **kwargs)
        from . import _app

        _app()  # build once, before any fork

    def work(self, *args, **kwargs):
        kwargs["with_scheduler"] = True
        return super().work(*args, **kwargs)

    def heartbeat(self, timeout=None, pipeline=None):
        super().heartbeat(timeout, pipeline)
        if pipeline is None and not self.connection.hexists(self.key, "birth"):
            # Redis came back empty (it keeps nothing on disk) and rq reconnected in place: its
            # beat recreated the worker's hash but not the registry, so /readyz and 任务队列
            # would not see this worker. Register again.
            self.log.warning("Worker %s: registration lost (Redis restarted empty): registering again", self.name)
            with self.connection.pipeline() as again:
                again.hset(self.key, mapping=self.serialize())
                worker_registration.register(self, again)
                again.expire(self.key, timeout or self.worker_ttl + 60)
                again.execute()

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
