"""gunicorn settings of the web process.

    gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'

run from the repository root with config.py's environment (SECRET_KEY, DATABASE_URL, REDIS_URL …).
Everything below can be changed by the environment:

- GUNICORN_BIND (127.0.0.1:8080): where to listen; behind nginx keep it on loopback.
- WEB_CONCURRENCY (cores + 1, bench/README.md): worker processes. Set here for the app as well, which
  warns when a memory:// rate-limit store meets several workers.
- GUNICORN_TIMEOUT (90 s): a worker silent this long is killed and replaced; above PDF_TIMEOUT_SECONDS
  (60), the slowest thing a request waits for.
- GUNICORN_ACCESS_LOG (unset: no access log): "-" (stdout) or a file for one JSON line a request with
  time, method, status, duration and request_id — no path or client address (ids and personal data);
  the app's /metrics has the latency by endpoint.
- LOG_FORMAT: unless "text", gunicorn's own lines (start, worker timeouts) are JSON like the app's.
- PROMETHEUS_MULTIPROC_DIR: the folder where every worker writes its metrics for /metrics to add up
  (app/observability.py). Unset: a new temporary folder for this run, removed at exit. To see job
  durations too, give the rq worker on the same host the same folder: set it for both, to an empty
  folder emptied before they start (e.g. systemd's RuntimeDirectory=).

Hook: child_exit tells prometheus_client that a worker is gone (mark_process_dead).
"""
import multiprocessing
import os
import shutil
import tempfile

# Before anything imports prometheus_client: it chooses single- or multiprocess mode at import.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _made_metrics_dir = None
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
else:
    _made_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="jiuye-metrics-")

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() + 1)
os.environ["WEB_CONCURRENCY"] = str(workers)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "90"))
graceful_timeout = 30
keepalive = 5  # behind nginx's keep-alive connections

accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# gunicorn escapes double quotes in these values; the method is an HTTP token, the request id a sane one.
access_log_format = ('{"time": "%(t)s", "logger": "gunicorn.access", "method": "%(m)s", "status": %(s)s, '
                     '"duration_ms": %(M)s, "request_id": "%({x-request-id}o)s"}')

if os.environ.get("LOG_FORMAT", "json") != "text":
    # Replaces only what it names: the root logger stays without handlers (the app adds its JSON
    # one), gunicorn.access keeps the handler GUNICORN_ACCESS_LOG gave it.
    logconfig_dict = {
        "root": {"level": "INFO", "handlers": []},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "formatters": {"json": {
            "()": "pythonjsonlogger.json.JsonFormatter", "fmt": ["asctime", "levelname", "name", "message"],
            "datefmt": "%Y-%m-%dT%H:%M:%S%z", "json_ensure_ascii": False,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "exception"}}},
    }


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made_metrics_dir:
        shutil.rmtree(_made_metrics_dir, ignore_errors=True)
