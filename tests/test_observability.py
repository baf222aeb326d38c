"""What the person on call sees (issue "faults"): /metrics (request latency by endpoint, job
durations, queues, workers, the outbox; several gunicorn workers added up), who may read it, and
JSON log lines that carry the request id the response shows and, in a job, its own job id."""
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.observability import LOG_HANDLER_NAME, install_json_logging
from tests.support.checks import reload
from tests.support.factories import make_user
from tests.support.jobs import REDIS_URL, add_rows, free_port

REQUESTS = "jiuye_http_request_duration_seconds_count"
JOBS = "jiuye_job_duration_seconds_count"


def samples(text):
    """{(name, ((label, value), …)): value} of a scrape."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(client, **kwargs):
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    return samples(response.get_data(as_text=True))


def value(scraped, name, **labels):
    return scraped.get((name, tuple(sorted(labels.items()))), 0)


# Jobs the worker runs (dotted paths).
def job_works():
    logging.getLogger("tests.job").info("working")


def job_fails():
    raise ValueError("no luck")


@pytest.fixture
def json_log(tmp_path):
    """The JSON handler writing to a file (a forked work-horse writes there too); call it for the records."""
    path = tmp_path / "log.jsonl"
    root = logging.getLogger()
    level = root.level
    stream = open(path, "a", buffering=1, encoding="utf-8")
    handler = install_json_logging(stream)
    yield lambda: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)
    stream.close()


def run_worker(queue_name):
    """The worker `make worker` runs (forking), in burst mode, on this test's queue."""
    from redis import Redis
    from rq import Queue

    from app.jobs.worker import AppWorker

    conn = Redis.from_url(REDIS_URL)
    AppWorker([Queue(queue_name, connection=conn)], connection=conn).work(burst=True)


# ---------------------------------------------------------------- /metrics

def test_metrics_show_request_latency_by_endpoint_not_path(client):
    before = scrape(client)
    assert client.get("/jobs/run/4242").status_code == 302  # anonymous: sent to the login page
    after = scrape(client)
    labels = {"endpoint": "JobRunView.show", "method": "GET", "status": "3xx"}
    assert value(after, REQUESTS, **labels) == value(before, REQUESTS, **labels) + 1
    assert not any("4242" in v for _name, pairs in after for _label, v in pairs)


@pytest.mark.parametrize("remote, headers, token, status", [
    ("127.0.0.1", {}, None, 200),
    ("::1", {}, None, 200),
    ("10.1.2.3", {}, None, 404),
    ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, None, 404),  # nginx on this host forwarded it
    ("10.1.2.3", {"Authorization": "Bearer s3cret-token"}, "s3cret-token", 200),
    ("10.1.2.3", {"Authorization": "Bearer wrong"}, "s3cret-token", 404),
    ("10.1.2.3", {"Authorization": "Bearer s3cret-token"}, None, 404),  # no METRICS_TOKEN: no token works
])
def test_metrics_answer_only_local_scrapers_or_the_token(app, client, monkeypatch, remote, headers, token, status):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", token)
    response = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": remote})
    assert response.status_code == status
    assert ("jiuye_http_request_duration_seconds" in response.get_data(as_text=True)) == (status == 200)


def test_metrics_count_the_outbox_and_say_redis_is_down(app, client, monkeypatch):
    add_rows(2)
    add_rows(1, status="failed")
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    scraped = scrape(client)
    assert time.monotonic() - started < 5
    assert value(scraped, "jiuye_metrics_source_up", source="redis") == 0
    assert value(scraped, "jiuye_metrics_source_up", source="database") == 1
    assert value(scraped, "jiuye_outbox_messages", status="pending") == 2
    assert value(scraped, "jiuye_outbox_messages", status="failed") == 1
    assert not any(name.startswith("jiuye_rq_") for name, _ in scraped)


def test_metrics_answer_while_the_database_is_down(app, client, monkeypatch):
    from app.extensions import db

    def refused(*_a, **_k):
        raise ConnectionRefusedError("database gone")

    monkeypatch.setattr(db.engine, "connect", refused)
    scraped = scrape(client)
    assert value(scraped, "jiuye_metrics_source_up", source="database") == 0
    assert not any(name == "jiuye_outbox_messages" for name, _ in scraped)


def test_metrics_show_queue_depth_and_worker_heartbeat(app, client, redis_queue):
    from redis import Redis
    from rq import Queue, Worker

    from app.jobs import enqueue

    for _ in range(3):
        enqueue("tests.test_observability.job_works")
    conn = Redis.from_url(REDIS_URL)
    worker = Worker([Queue(redis_queue, connection=conn)], connection=conn)
    worker.register_birth()
    try:
        worker.heartbeat()
        scraped = scrape(client)
    finally:
        worker.register_death()
    assert value(scraped, "jiuye_metrics_source_up", source="redis") == 1
    assert value(scraped, "jiuye_rq_queue_jobs", queue=redis_queue) == 3
    assert value(scraped, "jiuye_rq_failed_jobs", queue=redis_queue) == 0
    assert 0 <= value(scraped, "jiuye_rq_worker_heartbeat_age_seconds", worker=worker.name) < 60


def test_job_durations_by_function_and_outcome(app, client, redis_queue):
    from app.jobs import enqueue

    ok = {"function": "tests.test_observability.job_works", "outcome": "ok"}
    failed = {"function": "tests.test_observability.job_fails", "outcome": "failed"}
    before = scrape(client)
    enqueue("tests.test_observability.job_works")
    enqueue("tests.test_observability.job_fails")
    run_worker(redis_queue)
    after = scrape(client)
    assert value(after, JOBS, **ok) == value(before, JOBS, **ok) + 1
    assert value(after, JOBS, **failed) == value(before, JOBS, **failed) + 1
    assert value(after, "jiuye_rq_failed_jobs", queue=redis_queue) == 1


def _get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def test_metrics_add_up_every_gunicorn_worker(app, tmp_path):
    """Two gunicorn workers (deploy/gunicorn.conf.py), one request each: the scrape counts both."""
    metrics_dir = tmp_path / "metrics"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": app.config["SECRET_KEY"],
           "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
           "RATELIMIT_ENABLED": "false", "LOG_FORMAT": "text", "PYTHONPATH": os.getcwd()}
    env.pop("REDIS_URL", None)
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    with open(tmp_path / "gunicorn.log", "w") as log:
        server = subprocess.Popen([gunicorn, "-c", "deploy/gunicorn.conf.py", "app:create_app()"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # /metrics until it answers (its own endpoint: /healthz stays at 0)
            try:
                _get(f"{base}/metrics", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        # A sync worker serves one connection at a time: hold one with half a request, so the
        # next request goes to the other worker; then finish the first.
        held = socket.create_connection(("127.0.0.1", port))
        held.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        time.sleep(0.5)
        assert '"ok"' in _get(f"{base}/healthz", timeout=30)
        held.sendall(b"Connection: close\r\n\r\n")
        assert b"200 OK" in held.recv(4096)
        held.close()
        scraped = samples(_get(f"{base}/metrics"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert value(scraped, REQUESTS, endpoint="HealthView.healthz", method="GET", status="2xx") == 2
    assert len(list(metrics_dir.glob("histogram_*.db"))) >= 2  # one file per worker process


# ---------------------------------------------------------------- logs: request id and job id

@pytest.mark.parametrize("sent, echoed", [
    ("lb-7f3a.42_x", True),
    ("a" * 64, True),
    ("a" * 65, False),
    ("bad id; <script>", False),
    ("", False),
])
def test_request_id_is_taken_from_the_proxy_only_when_sane(client, sent, echoed):
    response = client.get("/healthz", headers={"X-Request-ID": sent} if sent else {})
    rid = response.headers["X-Request-ID"]
    assert (rid == sent) == echoed
    if not echoed:
        assert len(rid) == 32 and int(rid, 16) >= 0  # a new uuid4, hex


def test_json_log_lines_of_a_request_carry_its_id_and_the_500_page_shows_it(app, client, monkeypatch, json_log):
    def broken_probe():
        logging.getLogger("app.views.health").warning("probe about to fail")
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(app.view_functions, "HealthView.healthz", broken_probe)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get("/healthz")
    rid = response.headers["X-Request-ID"]
    assert response.status_code == 500 and f"参考编号 {rid}" in response.get_data(as_text=True)
    records = [r for r in json_log() if r.get("request_id") == rid]
    warning = next(r for r in records if r["message"] == "probe about to fail")
    assert {"time", "level", "logger"} <= warning.keys() and warning["level"] == "WARNING"
    assert warning["logger"] == "app.views.health" and "job_id" not in warning
    error = next(r for r in records if r["level"] == "ERROR")
    assert "RuntimeError: disk on fire" in error["exception"]


def test_a_job_enqueued_by_a_request_logs_with_that_request_id_and_its_job_id(
        app, client, login, redis_queue, monkeypatch, json_log):
    """A failed export: the user's 参考编号, the log line with the traceback, the export request."""
    from sqlalchemy import select

    from app.extensions import db
    from app.jobs import exports
    from app.models import JobRun

    def broken_export(run, params, progress):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "certified_list", broken_export)  # the forked work-horse inherits it
    user = make_user("province")
    login(client, user.username)
    response = client.post("/stats/province/export", data={"year": "2026", "format": "xlsx"})
    assert response.status_code == 302
    rid = response.headers["X-Request-ID"]
    run = db.session.scalars(select(JobRun)).one()
    assert run.rq_job_id
    run_worker(redis_queue)
    run = reload(run)
    assert run.status == "failed"
    [line] = [r for r in json_log() if r.get("job_id") == run.rq_job_id and r["level"] == "ERROR"]
    assert line["request_id"] == rid
    assert "RuntimeError: disk full" in line["exception"]
    ref = run.message.split("参考编号 ")[1].split("）")[0]
    assert ref in line["message"]


def test_a_job_enqueued_after_a_requests_commit_carries_its_request_id(app, client, login, redis_queue, monkeypatch):
    """重新发送 (任务队列) enqueues the outbox sender once its commit is done (app.jobs.enqueue)."""
    from redis import Redis
    from rq import Queue

    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    [row] = add_rows(1, status="failed")
    login(client, make_user("province").username)
    response = client.post(f"/jobs/queue/mail/{row}/retry")
    assert response.status_code == 302
    [job] = Queue(redis_queue, connection=Redis.from_url(REDIS_URL)).jobs
    assert job.func_name == "app.jobs.send_outbox"
    assert job.meta["request_id"] == response.headers["X-Request-ID"]


def test_create_app_logs_json_only_when_asked(app):
    from app import create_app

    root = logging.getLogger()
    assert not any(h.name == LOG_HANDLER_NAME for h in root.handlers)  # the tests' app: text (development)
    level = root.level
    create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": app.config["SECRET_KEY"],
                "TESTING": True, "LOG_FORMAT": "json"})
    try:
        [handler] = [h for h in root.handlers if h.name == LOG_HANDLER_NAME]
        line = json.loads(handler.format(logging.LogRecord("app", logging.INFO, __file__, 1, "签约 %s", ("ok",), None)))
        assert line.pop("time").endswith("+00:00")
        assert line == {"level": "INFO", "logger": "app", "message": "签约 ok"}
    finally:
        for h in [h for h in root.handlers if h.name == LOG_HANDLER_NAME]:
            root.removeHandler(h)
        root.setLevel(level)
