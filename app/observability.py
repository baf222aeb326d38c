"""Metrics and logs for the person on call (issue "faults").

`/metrics` (Prometheus text format) answers a scraper on this host (a loopback address, and no
proxy header: behind nginx on the same host every request arrives from 127.0.0.1) or one sending
`Authorization: Bearer <METRICS_TOKEN>`; anyone else gets the ordinary 404.

- `jiuye_http_request_duration_seconds{endpoint,method,status}`: every request, by Flask endpoint
  (never the path: ids in it would make a series per row), method and status class (2xx … 5xx).
- `jiuye_job_duration_seconds{function,outcome}`: every rq job `AppWorker` runs (ok / failed).
- Read at scrape time, with short timeouts: `jiuye_rq_queue_jobs{queue}`, `jiuye_rq_failed_jobs{queue}`,
  `jiuye_rq_worker_heartbeat_age_seconds{worker}`, `jiuye_outbox_messages{status}` (pending,
  failed) and `jiuye_metrics_source_up{source}` (database, redis when REDIS_URL is set): 0 means that
  source did not answer and its metrics are missing from this scrape, which still answers 200.

Several processes (gunicorn workers, rq workers): with PROMETHEUS_MULTIPROC_DIR set before
prometheus_client is first imported (deploy/gunicorn.conf.py does it) every process writes its
samples to files in that folder and a scrape adds them up; without it (`make run`, the tests) a
scrape shows this process's own registry. Labels carry code names only, never personal data.

Logs: with LOG_FORMAT=json (the default outside development) one JSON object a line on stderr:
time, level, logger, message, request_id and job_id when known, exception. The request id is the
incoming X-Request-ID when it is a sane token (a proxy's), else a new one; the response echoes it
in X-Request-ID, the 500 page shows it as 参考编号, and the jobs the request enqueues carry it
(rq job meta), so their log lines have it beside their own job id.
"""
import contextvars
import hmac
import ipaddress
import logging
import os
import re
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, disable_created_metrics,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily
from pythonjsonlogger.json import JsonFormatter

request_id_var = contextvars.ContextVar("request_id", default=None)
job_id_var = contextvars.ContextVar("job_id", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
META_REQUEST_ID = "request_id"  # the rq job meta key
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# A request that came through a proxy is not local, whatever its address (see may_scrape).
PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")
# Seconds a scrape waits for Redis or for the outbox count before reporting the source down.
REDIS_CONNECT_TIMEOUT = 0.5
REDIS_SOCKET_TIMEOUT = 1.0
DATABASE_STATEMENT_MS = 2000
LOG_HANDLER_NAME = "jiuye-json"

# No `_created` series: they double the output, and the multiprocess scrape has none anyway.
disable_created_metrics()
REQUEST_SECONDS = Histogram(
    "jiuye_http_request_duration_seconds", "Time to answer a request, by Flask endpoint, method and status class",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
JOB_SECONDS = Histogram(
    "jiuye_job_duration_seconds", "Time an rq job took in AppWorker, by function and outcome (ok, failed)",
    ["function", "outcome"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600))


# ---------------------------------------------------------------- the web app

def init_observability(app):
    """The request id and the clock start before any other hook (create_app registers this
    first), and the response is timed after every other after_request hook; plus /metrics."""
    app.before_request(begin_request)
    app.after_request(end_request)
    app.teardown_request(forget_request)

    def metrics():
        from flask import abort, current_app, request

        if not may_scrape(request, current_app.config.get("METRICS_TOKEN")):
            abort(404)
        body = generate_latest(_recorded()) + generate_latest(_live(current_app.config))
        return body, 200, {"Content-Type": CONTENT_TYPE_LATEST}

    # A scraper on this host asks over plain http: no https redirect (what `talisman(force_https=False)`
    # sets). One function per app: Talisman fills this dict with the app's own defaults.
    metrics.talisman_view_options = {"force_https": False}
    app.add_url_rule("/metrics", "metrics", metrics)


def begin_request():
    from flask import g, request

    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    request_id_var.set(g.request_id)


def end_request(response):
    from flask import g, request

    if "request_id" in g:
        response.headers[REQUEST_ID_HEADER] = g.request_id
    if "request_started" in g:
        REQUEST_SECONDS.labels(
            endpoint=request.endpoint or "none",  # no route matched (404): one series, not one per path
            method=request.method if request.method in METHODS else "other",
            status=f"{response.status_code // 100}xx",
        ).observe(time.perf_counter() - g.request_started)
    return response


def forget_request(_exc=None):
    """A gunicorn sync worker runs every request in the same context: the next one starts clean."""
    request_id_var.set(None)


def may_scrape(request, token):
    """The bearer token when METRICS_TOKEN is set; else (or also) a request from a loopback
    address that no proxy forwarded."""
    if token and hmac.compare_digest(request.headers.get("Authorization", "").encode(),
                                     f"Bearer {token}".encode()):
        return True
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return address.is_loopback or bool(getattr(address, "ipv4_mapped", None) and address.ipv4_mapped.is_loopback)


def _recorded():
    """The histograms of this process, or of every process writing to PROMETHEUS_MULTIPROC_DIR."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def _live(config):
    registry = CollectorRegistry()
    names = [config[setting] for setting in ("RQ_MAIL_QUEUE", "RQ_QUEUE", "RQ_BULK_QUEUE") if config.get(setting)]
    registry.register(LiveCollector(config.get("REDIS_URL"), names))
    return registry


# ---------------------------------------------------------------- read at scrape time

class LiveCollector:
    """Queue depths, worker heartbeats and the outbox, read when Prometheus asks. A source that
    does not answer is reported by jiuye_metrics_source_up and leaves its metrics out."""

    def __init__(self, redis_url, queue_names):
        self.redis_url = redis_url
        self.queue_names = queue_names

    def collect(self):
        up = GaugeMetricFamily("jiuye_metrics_source_up",
                               "1 when the source answered this scrape, 0 when its metrics are missing", labels=["source"])
        outbox = GaugeMetricFamily("jiuye_outbox_messages", "Outbox mail (notification.email_status) by status",
                                   labels=["status"])
        up.add_metric(["database"], _answered(_read_outbox, outbox))
        families = [outbox]
        if self.redis_url:  # without it jobs run inline: no queue, no worker
            queued = GaugeMetricFamily("jiuye_rq_queue_jobs", "Jobs waiting in the rq queue", labels=["queue"])
            failed = GaugeMetricFamily("jiuye_rq_failed_jobs", "Jobs in the queue's failed registry", labels=["queue"])
            beats = GaugeMetricFamily("jiuye_rq_worker_heartbeat_age_seconds",
                                      "Seconds since the rq worker's last heartbeat", labels=["worker"])
            up.add_metric(["redis"], _answered(self._read_redis, queued, failed, beats))
            families += [queued, failed, beats]
        return [up, *families]

    def _read_redis(self, queued, failed, beats):
        from redis import Redis
        from rq import Queue, Worker

        conn = Redis.from_url(self.redis_url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
                              socket_timeout=REDIS_SOCKET_TIMEOUT)
        try:
            queues = {q.name: q for q in Queue.all(connection=conn)}
            for name in self.queue_names:  # the app's queues, reported even while empty
                queues.setdefault(name, Queue(name, connection=conn))
            for name, queue in sorted(queues.items()):
                queued.add_metric([name], queue.count)
                # cleanup=False: a scrape reads, it never moves jobs between registries
                failed.add_metric([name], queue.failed_job_registry.get_job_count(cleanup=False))
            now = datetime.now(timezone.utc)
            for worker in Worker.all(connection=conn):
                beat = worker.last_heartbeat
                if beat is not None:
                    beat = beat if beat.tzinfo else beat.replace(tzinfo=timezone.utc)
                    beats.add_metric([worker.name], max(0.0, (now - beat).total_seconds()))
        finally:
            conn.close()


def _read_outbox(outbox):
    from sqlalchemy import func, select, text

    from .extensions import db
    from .models import Notification

    statuses = ("pending", "failed")
    # Its own connection, so a failure never touches the request's session.
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SET LOCAL statement_timeout = {DATABASE_STATEMENT_MS}"))
        counts = dict(conn.execute(select(Notification.email_status, func.count())
                                   .where(Notification.email_status.in_(statuses))
                                   .group_by(Notification.email_status)).all())
    for status in statuses:
        outbox.add_metric([status], counts.get(status, 0))


def _answered(read, *families):
    """1 when `read(*families)` worked; 0 (logged, by class name) and no samples when it failed."""
    try:
        read(*families)
        return 1
    except Exception as exc:  # noqa: BLE001 — any failure is "source down"; the scrape goes on
        for family in families:
            family.samples.clear()
        logging.getLogger(__name__).info("metrics: %s failed: %s", read.__name__, exc.__class__.__name__)
        return 0


# ---------------------------------------------------------------- rq jobs

def job_meta(meta=None):
    """The `meta` of an rq job enqueued now: the current request id rides along (see job_scope)."""
    meta = dict(meta or {})
    if request_id_var.get():
        meta.setdefault(META_REQUEST_ID, request_id_var.get())
    return meta


@contextmanager
def job_scope(job):
    """Around one job in AppWorker.execute_job: log lines carry its id and the id of the request
    that enqueued it (the forked work-horse inherits both); its duration is observed afterwards."""
    job_token = job_id_var.set(job.id)
    request_token = request_id_var.set((job.meta or {}).get(META_REQUEST_ID))
    started, outcome = time.perf_counter(), "failed"
    try:
        yield
        outcome = _outcome(job)
    finally:
        JOB_SECONDS.labels(function=_function(job), outcome=outcome).observe(time.perf_counter() - started)
        job_id_var.reset(job_token)
        request_id_var.reset(request_token)


def _outcome(job):
    from rq.job import JobStatus

    try:
        status = job.get_status(refresh=True)
    except Exception:  # noqa: BLE001 — the job's key is gone: rq deletes a finished job at once when result_ttl=0
        return "ok"
    return "ok" if status == JobStatus.FINISHED else "failed"  # a retry waiting counts as this run failed


def _function(job):
    try:
        return job.func_name
    except Exception:  # noqa: BLE001 — a job whose data cannot be read still counts
        return "unknown"


# ---------------------------------------------------------------- logs

class RequestIds(logging.Filter):
    def filter(self, record):
        if request_id_var.get():
            record.request_id = request_id_var.get()
        if job_id_var.get():
            record.job_id = job_id_var.get()
        return True


class JsonLogFormatter(JsonFormatter):
    def __init__(self):
        super().__init__(["asctime", "levelname", "name", "message"], json_ensure_ascii=False, rename_fields={
            "asctime": "time", "levelname": "level", "name": "logger", "exc_info": "exception"})

    def formatTime(self, record, datefmt=None):
        return datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")


def init_logging(app, log_format):
    """LOG_FORMAT "json": every record (ours, Flask's, SQLAlchemy's, rq's) through one JSON handler
    on the root logger, at INFO. "text": logging as Python and Flask set it up (development)."""
    if log_format != "json":
        return None
    from flask.logging import default_handler

    handler = install_json_logging()
    app.logger.removeHandler(default_handler)  # else Flask's text line beside the JSON one
    return handler


def install_json_logging(stream=None):
    """The JSON handler on the root logger (replacing one installed before: tests and workers build
    several apps). Returns it."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == LOG_HANDLER_NAME]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.name = LOG_HANDLER_NAME
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(RequestIds())
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # `rq worker` gives its loggers text handlers of their own (and stops propagation) before the
    # worker class builds the app: their lines go through the JSON handler too.
    from rq.logutils import ColorizingStreamHandler

    for name in ("rq.worker", "rq.job", "rq.scheduler"):
        logger = logging.getLogger(name)
        own = [h for h in logger.handlers if isinstance(h, ColorizingStreamHandler)]
        for h in own:
            logger.removeHandler(h)
        if own:
            logger.propagate = True
    return handler
