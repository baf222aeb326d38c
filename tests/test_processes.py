"""Processes that come back (issue 17 finding 2), with real processes: a private redis-server on
a port of its own (never the machine's Redis), deploy/supervise.sh, rq workers and rq cron.

- A supervised worker survives a Redis outage: after Redis is back (the same port, nothing kept),
  a job enqueued then runs without anyone restarting anything.
- A supervised worker killed with SIGKILL (and everything it left behind) is started again and
  runs the next job.
- AppWorker always runs its scheduler: a scheduled job is enqueued by it without --with-scheduler.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.support.jobs import free_port, subprocess_env

pytestmark = pytest.mark.slow
RQ = os.path.join(os.path.dirname(sys.executable), "rq")
SUPERVISE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "deploy", "supervise.sh")


def touch(path):
    """The job: leaves a file behind (the test reads it)."""
    with open(path, "w") as fh:
        fh.write(str(os.getpid()))


class PrivateRedis:
    def __init__(self, workdir):
        self.port = free_port()
        self.dir = workdir
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from redis import Redis

        for _ in range(100):
            try:
                Redis.from_url(self.url).ping()
                return
            except Exception:  # noqa: BLE001
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def private_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


def supervised_worker(app, redis, queue, tmp_path):
    env = subprocess_env(app, queue, REDIS_URL=redis.url)
    log = open(tmp_path / "supervise.log", "w")
    proc = subprocess.Popen(
        [SUPERVISE, "worker", RQ, "worker", "--worker-class", "app.jobs.worker.AppWorker", "--url", redis.url, queue],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


def run_job_and_wait(redis, queue, path, seconds):
    from redis import Redis
    from rq import Queue

    Queue(queue, connection=Redis.from_url(redis.url)).enqueue("tests.test_processes.touch", str(path))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.2)
    return False


def workers(redis):
    from redis import Redis
    from rq import Worker

    return Worker.all(connection=Redis.from_url(redis.url))


def test_supervised_worker_comes_back_after_a_redis_outage(app, private_redis, tmp_path):
    proc = supervised_worker(app, private_redis, "q", tmp_path)
    try:
        assert run_job_and_wait(private_redis, "q", tmp_path / "before", 60)
        private_redis.stop()
        time.sleep(35)  # rq gives up its loop after ~24 s of retries (the finding)
        private_redis.start()  # empty: Redis here keeps nothing on disk
        assert run_job_and_wait(private_redis, "q", tmp_path / "after", 90), \
            (tmp_path / "supervise.log").read_text()[-3000:]
    finally:
        stop(proc)


def test_supervised_worker_killed_is_started_again(app, private_redis, tmp_path):
    proc = supervised_worker(app, private_redis, "q", tmp_path)
    try:
        assert run_job_and_wait(private_redis, "q", tmp_path / "before", 60)
        (first,) = workers(private_redis)
        os.kill(first.pid, signal.SIGKILL)
        # A new worker registers (the dead one's entry stays until its heartbeat key expires).
        deadline = time.monotonic() + 30
        while not any(w.pid != first.pid for w in workers(private_redis)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "restarting" in (tmp_path / "supervise.log").read_text()
        assert run_job_and_wait(private_redis, "q", tmp_path / "after", 60), \
            (tmp_path / "supervise.log").read_text()[-3000:]
    finally:
        stop(proc)
    # Stopping the supervisor stops the worker and what it started (its scheduler process).
    time.sleep(1)
    assert subprocess.run(["pgrep", "-f", f"--url {private_redis.url}"], capture_output=True).stdout == b""


def test_app_worker_always_runs_its_scheduler(app, private_redis, tmp_path):
    """A worker started without --with-scheduler still enqueues scheduled jobs (rq's own does not)."""
    from datetime import timedelta

    from redis import Redis
    from rq import Queue, Worker

    conn = Redis.from_url(private_redis.url)
    queue = Queue("q", connection=conn)
    queue.enqueue_in(timedelta(seconds=0), "tests.test_processes.touch", str(tmp_path / "plain"))
    Worker([queue], connection=conn).work(burst=True)
    assert not (tmp_path / "plain").exists()  # rq's worker: the scheduled job waits

    env = subprocess_env(app, "q", REDIS_URL=private_redis.url)
    result = subprocess.run([RQ, "worker", "--burst", "--worker-class", "app.jobs.worker.AppWorker",
                             "--url", private_redis.url, "q"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "plain").exists()


def test_a_worker_that_reconnects_to_an_empty_redis_registers_again(app, private_redis, tmp_path):
    """The fault drill: after Redis restarted empty, a worker that reconnected in place was not in
    rq's registry, so /readyz (0 workers, 503) and 任务队列 did not see it."""
    env = subprocess_env(app, "q", REDIS_URL=private_redis.url)
    worker = subprocess.Popen([RQ, "worker", "--worker-class", "app.jobs.worker.AppWorker", "--url",
                               private_redis.url, "q"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not workers(private_redis) and time.monotonic() < deadline:
            time.sleep(0.2)
        (before,) = workers(private_redis)
        private_redis.stop()
        time.sleep(2)  # short: rq retries the connection in place instead of leaving its loop
        private_redis.start()
        deadline = time.monotonic() + 60
        while not workers(private_redis) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert [w.name for w in workers(private_redis)] == [before.name]
        assert worker.poll() is None  # the same process, reconnected
        assert run_job_and_wait(private_redis, "q", tmp_path / "after", 60)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
