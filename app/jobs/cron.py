"""The schedule, for the single `rq cron app/jobs/cron.py` process (`make cron`).

rq's cron has no lock: run exactly one such process. Each entry only enqueues; a worker
(`make worker`) runs the job. Every job here is a sweep that is safe to run twice or
concurrently, so a duplicate cron process would waste work, not corrupt it.
"""
import os

from rq import cron

from app.jobs import expire_due_offers, send_outbox, send_reminders, sweep_runs
from app.jobs.files import purge_old_files

QUEUE = os.environ.get("RQ_QUEUE") or "default"

# R4: stored status, FlowEvent and the employer's notice catch up with the deadline.
cron.register(expire_due_offers, QUEUE, cron="* * * * *", job_timeout=600)
# 24 h expiry, 3-day termination and 5-working-day review reminders (each once).
cron.register(send_reminders, QUEUE, cron="*/5 * * * *", job_timeout=600)
# The outbox: anything left pending (Redis was down at commit time, temporary SMTP failures)
# and claims left by a dead worker.
cron.register(send_outbox, QUEUE, kwargs={"retry": False}, cron="* * * * *", job_timeout=600)
# Job runs whose worker vanished → failed with a reason, so no page polls forever.
cron.register(sweep_runs, QUEUE, cron="*/10 * * * *", job_timeout=300)
# Export and import files older than EXPORT_RETENTION_DAYS (personal data), once a day at night.
cron.register(purge_old_files, QUEUE, cron="17 3 * * *", job_timeout=600)
