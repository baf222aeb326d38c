"""Fault test (slow): a real `rq worker` process is SIGKILLed mid-batch while sending the outbox;
after a restart every message has been delivered exactly once.

Two kill points, driven by the local SMTP stub so they are deterministic:
- during RCPT of the 10th message (before anything was handed over): once the dead sender is
  noticed (its rq job silent) the rows it held go back to pending and the restarted worker sends
  them — all 30 sent, each received once;
- right after the server received the 10th message's DATA but before it answered 250 (the worker
  never learns it was delivered): that row is marked failed as "may have been sent" and is not
  re-sent — the server still has each of the 30 messages exactly once.
"""
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from app.jobs import mail
from tests.support.jobs import REDIS_URL, add_rows, outbox, subprocess_env

pytestmark = pytest.mark.slow
N = 30
STALE = 2  # RUN_STALE_SECONDS of the worker processes


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def start_worker(app, queue_name):
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    return subprocess.Popen(
        [rq, "worker", "--burst", "--worker-class", "app.jobs.worker.AppWorker", "--url", REDIS_URL, queue_name],
        env=subprocess_env(app, queue_name, RUN_STALE_SECONDS=str(STALE)), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True)


def enqueue_sender(queue_name):
    from redis import Redis
    from rq import Queue

    Queue(queue_name, connection=Redis.from_url(REDIS_URL)).enqueue("app.jobs.send_outbox", job_timeout=300)


def run_until_killed(app, smtp, queue_name, hook):
    enqueue_sender(queue_name)
    worker = start_worker(app, queue_name)
    killed = []

    def kill(count):
        if count == 10 and not killed:
            # The worker and its work-horse (rq puts the horse in a session of its own), mid-batch.
            for pid in [worker.pid, *children(worker.pid)]:
                os.kill(pid, signal.SIGKILL)
            killed.append(count)
            time.sleep(0.2)  # let the kill land before the stub answers

    setattr(smtp, hook, kill)
    worker.wait(120)
    time.sleep(0.5)  # the stub's handler finishes talking to the dead horse
    setattr(smtp, hook, None)
    assert killed, worker.stdout.read().decode()[-2000:]
    return worker


def restart(app, queue_name):
    # No waiting for the claim timeout (MAIL_CLAIM_SECONDS, 10 min): the dead sender's rq job has
    # stopped beating, so its claims are released once it has been silent RUN_STALE_SECONDS.
    time.sleep(STALE + 1)
    enqueue_sender(queue_name)
    worker = start_worker(app, queue_name)
    out, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, out.decode()[-2000:]


def test_worker_killed_before_handover_everything_sent_once(app, smtp, redis_queue):
    smtp.rcpt_delay = 0.02
    ids = add_rows(N)
    run_until_killed(app, smtp, redis_queue, "on_rcpt")
    states = Counter(r.email_status for r in outbox())
    # One batch was claimed: 9 sent, the 10th mid-RCPT, the rest claimed and not yet tried.
    assert states == {"sent": 9, "sending": N - 9}
    restart(app, redis_queue)
    assert Counter(r.email_status for r in outbox()) == {"sent": N}
    received = Counter(smtp.message_ids())
    assert received == {mail.message_id(i): 1 for i in ids}


def test_worker_killed_after_handover_nothing_sent_twice(app, smtp, redis_queue):
    ids = add_rows(N)
    run_until_killed(app, smtp, redis_queue, "on_data")
    rows = {r.id: r for r in outbox()}
    (uncertain,) = [r for r in rows.values() if r.email_status == "sending" and r.sent_at is not None]
    # Stamped before DATA; the rest of the batch was claimed and never tried.
    assert Counter(r.email_status for r in rows.values()) == {"sent": 9, "sending": N - 9}
    restart(app, redis_queue)
    rows = {r.id: r for r in outbox()}
    assert rows[uncertain.id].email_status == "failed" and rows[uncertain.id].last_error == mail.UNCERTAIN
    assert Counter(r.email_status for r in rows.values()) == {"sent": N - 1, "failed": 1}
    received = Counter(smtp.message_ids())
    assert received == {mail.message_id(i): 1 for i in ids}  # the uncertain one arrived, once
