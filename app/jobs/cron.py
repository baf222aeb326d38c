"""The schedule, for the single `rq cron app/jobs/cron.py` process (`make cron`).

rq's cron has no lock: run exactly one such process. Each entry only enqueues, on the queue of
its kind (app.jobs.queue_name); a worker runs the job. Every job here is a sweep that is safe to
run twice or concurrently, so a duplicate cron process would waste work, not corrupt it.
"""
from rq import cron

from app.jobs import (close_due_postings, expire_due_offers, queue_name, refresh_statistics, send_outbox,
                      send_reminders, sweep_runs)
from app.jobs.files import purge_old_files

DEFAULT, MAIL, BULK = queue_name("default"), queue_name("mail"), queue_name("bulk")

# R4: stored status, FlowEvent and the employer's notice catch up with the deadline.
cron.register(expire_due_offers, DEFAULT, cron="* * * * *", job_timeout=600)
# R16: job postings past their 截止日期 → 已截止 (pages read them closed already).
cron.register(close_due_postings, DEFAULT, cron="* * * * *", job_timeout=600)
# 24 h expiry, 3-day termination and 5-working-day review reminders (each once).
cron.register(send_reminders, DEFAULT, cron="*/5 * * * *", job_timeout=600)
# The outbox: rows whose retry time has come, kicks lost while Redis was down, claims left by a
# dead worker (app.jobs.mail).
cron.register(send_outbox, MAIL, cron="* * * * *", job_timeout=600)
# Job runs whose worker died → failed within a minute; runs whose rq job Redis lost → submitted
# again (app.jobs.runs.sweep_stale).
cron.register(sweep_runs, DEFAULT, interval=20, job_timeout=120)
# The statistics summary from its change log (app.summary): dashboards are at most a minute old.
cron.register(refresh_statistics, DEFAULT, interval=20, job_timeout=600)
# Export and import files older than EXPORT_RETENTION_DAYS (personal data), once a day at night.
cron.register(purge_old_files, BULK, cron="17 3 * * *", job_timeout=600)
